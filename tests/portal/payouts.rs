//! Payouts: the SEPA file of a payment run against the official ISO 20022 schema.

use std::path::Path;

use foerderportal::money::Cents;
use foerderportal::payouts::sepa::{Debtor, Run, Transfer, pain_001_001_09};

fn run(transfers: usize) -> Run {
    Run {
        message_id: "FP-ZL-2026-0001".into(),
        created_at: time::OffsetDateTime::now_utc(),
        execution_date: time::macros::date!(2026 - 12 - 15),
        debtor: Debtor {
            name: "Freistaat Thüringen – Landeshauptkasse".into(),
            iban: "DE02 8205 0000 3004 4440 40".into(),
            bic: None,
        },
        transfers: (1..=transfers)
            .map(|i| Transfer {
                end_to_end_id: format!("EGOV-2026-{i:04}-A1"),
                creditor_name: "Stadt Sömmerda & Verwaltungsgemeinschaft „Kölleda“".into(),
                creditor_iban: "DE89 3704 0044 0532 0130 00".into(),
                amount: Cents::new(5_000_000 + i64::try_from(i).unwrap()),
                remittance: format!("Zuwendung EGOV-2026-{i:04}, Mittelabruf 1 – E-Akte"),
            })
            .collect(),
    }
}

/// `xmllint --schema` on the file; the error output when it does not validate.
fn validate(xml: &str) -> Result<(), String> {
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vendor/iso20022/pain.001.001.09.xsd");
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let file = std::env::temp_dir().join(format!("fp-pain-{}-{n}.xml", std::process::id()));
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint (Debian libxml2-utils) is installed");
    let _ = std::fs::remove_file(&file);
    match out.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

#[test]
fn a_payment_run_file_validates_against_the_pain_001_001_09_schema() {
    let run = run(3);
    let xml = pain_001_001_09(&run);
    validate(&xml).unwrap();
    assert_eq!(run.total(), Cents::new(15_000_006));
    assert!(xml.contains("<CtrlSum>150000.06</CtrlSum>"));
    assert!(xml.contains("<EndToEndId>EGOV-2026-0002-A1</EndToEndId>"));
    assert!(xml.contains("<Ustrd>Zuwendung EGOV-2026-0003, Mittelabruf 1   E-Akte</Ustrd>"));
    assert!(xml.contains("<Othr><Id>NOTPROVIDED</Id></Othr>"));
}

#[test]
fn the_schema_check_refuses_a_file_that_breaks_it() {
    let xml = pain_001_001_09(&run(1)).replace("<PmtMtd>TRF</PmtMtd>", "");
    let problem = validate(&xml).expect_err("a payment block without its method is refused");
    assert!(problem.contains("PmtMtd"), "{problem}");
}
