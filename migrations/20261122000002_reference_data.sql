-- Reference data that is true in production too: the 17 Landkreise and 5 kreisfreie Städte of
-- Thuringia with their official keys (Gemeinden come from the Gemeindeverzeichnis import), and the
-- ThürEGovRL programme with its funding categories (Ziffer 2 a–h). Admins may edit both later.

INSERT INTO municipalities (name, kind, ags, ars, city) VALUES
    ('Erfurt',                           'kreisfreie_stadt', '16051000', '160510000000', 'Erfurt'),
    ('Gera',                             'kreisfreie_stadt', '16052000', '160520000000', 'Gera'),
    ('Jena',                             'kreisfreie_stadt', '16053000', '160530000000', 'Jena'),
    ('Suhl',                             'kreisfreie_stadt', '16054000', '160540000000', 'Suhl'),
    ('Weimar',                           'kreisfreie_stadt', '16055000', '160550000000', 'Weimar'),
    ('Landkreis Eichsfeld',              'landkreis',        '16061000', '160610000000', 'Heilbad Heiligenstadt'),
    ('Landkreis Nordhausen',             'landkreis',        '16062000', '160620000000', 'Nordhausen'),
    ('Wartburgkreis',                    'landkreis',        '16063000', '160630000000', 'Bad Salzungen'),
    ('Unstrut-Hainich-Kreis',            'landkreis',        '16064000', '160640000000', 'Mühlhausen/Thüringen'),
    ('Kyffhäuserkreis',                  'landkreis',        '16065000', '160650000000', 'Sondershausen'),
    ('Landkreis Schmalkalden-Meiningen', 'landkreis',        '16066000', '160660000000', 'Meiningen'),
    ('Landkreis Gotha',                  'landkreis',        '16067000', '160670000000', 'Gotha'),
    ('Landkreis Sömmerda',               'landkreis',        '16068000', '160680000000', 'Sömmerda'),
    ('Landkreis Hildburghausen',         'landkreis',        '16069000', '160690000000', 'Hildburghausen'),
    ('Ilm-Kreis',                        'landkreis',        '16070000', '160700000000', 'Arnstadt'),
    ('Landkreis Weimarer Land',          'landkreis',        '16071000', '160710000000', 'Apolda'),
    ('Landkreis Sonneberg',              'landkreis',        '16072000', '160720000000', 'Sonneberg'),
    ('Landkreis Saalfeld-Rudolstadt',    'landkreis',        '16073000', '160730000000', 'Saalfeld/Saale'),
    ('Saale-Holzland-Kreis',             'landkreis',        '16074000', '160740000000', 'Eisenberg'),
    ('Saale-Orla-Kreis',                 'landkreis',        '16075000', '160750000000', 'Schleiz'),
    ('Landkreis Greiz',                  'landkreis',        '16076000', '160760000000', 'Greiz'),
    ('Landkreis Altenburger Land',       'landkreis',        '16077000', '160770000000', 'Altenburg');

INSERT INTO programmes (name, short_name, legal_basis, description, eligibility) VALUES (
    'Förderung von E-Government und IT in Thüringer Kommunen',
    'ThürEGovRL',
    'Richtlinie zur Förderung von E-Government und IT in Thüringer Kommunen (ThürEGovRL) in Verbindung mit § 44 der Thüringer Landeshaushaltsordnung (ThürLHO). Ein Rechtsanspruch auf die Zuwendung besteht nicht; die Bewilligungsbehörde entscheidet nach pflichtgemäßem Ermessen im Rahmen der verfügbaren Haushaltsmittel.',
    'Der Freistaat Thüringen fördert die Digitalisierung der kommunalen Verwaltung mit bis zu 10 Millionen Euro im Jahr. Ziel ist ein besserer Zugang für Bürgerinnen, Bürger und Unternehmen zu öffentlichen Dienstleistungen durch moderne Informationstechnik – durch einheitliche E-Government- und IT-Infrastruktur-Initiativen, eine stärkere IT-Koordinierung und IT-Standardisierung. Ein zentrales Anliegen ist ein möglichst hoher Nachnutzungsgrad der geförderten Vorhaben für andere Thüringer Kommunen.',
    'Antragsberechtigt sind die Gemeinden, Landkreise und kreisfreien Städte in Thüringen sowie ihre Zusammenschlüsse. Vorhaben können allein oder gemeinsam mit Partnerkommunen als Verbundvorhaben umgesetzt werden; bei Verbundvorhaben stellt eine federführende Kommune den Antrag.'
);

INSERT INTO programme_contacts (programme_id, name, organisation, address, phone, email, position)
SELECT id, 'Norman Müller', 'Thüringer Finanzministerium, Referat E-Government und IT',
       'Ludwig-Erhard-Ring 7, 99099 Erfurt', '', 'egovernment@tfm.thueringen.de', 1
FROM programmes WHERE short_name = 'ThürEGovRL';

INSERT INTO categories (programme_id, code, title, description, position)
SELECT p.id, c.code, c.title, c.description, c.position
FROM programmes p, (VALUES
    ('2a', 'Elektronische Verwaltungsdienste', 'Schaffung von Diensten mit dem Ziel der elektronischen Abwicklung von Verwaltungsvorgängen.', 1),
    ('2b', 'Gemeinsame Ausschreibung und Beschaffung', 'Schaffung eines zentralen elektronischen Dienstes mit dem Ziel der Abwicklung gemeinsamer Ausschreibungs- und Beschaffungsvorgänge von Kommunen.', 2),
    ('2c', 'Kooperativ nutzbare Basisdienste', 'Übernahme oder Bereitstellung von kooperativ nutzbaren Basisdiensten, etwa standardisierte Schnittstellen zwischen Fachverfahren, Dokumentenmanagement und Online-Diensten, einschließlich ihrer Nachnutzung.', 3),
    ('2d', 'Gemeinsame Fachverfahren', 'Gemeinschaftlicher Erwerb, Nutzung oder Betrieb von Fachverfahren.', 4),
    ('2e', 'Schnittstellen und Interoperabilität', 'Schaffung von Schnittstellen zur Sicherstellung der Interoperabilität und Medienbruchfreiheit bei gemeinschaftlich genutzten elektronischen Verfahren.', 5),
    ('2f', 'Neustrukturierung der IT-Landschaft', 'Neustrukturierung der IT-Landschaft innerhalb eines Landkreises bzw. zwischen Landkreisen und kreisfreien Städten.', 6),
    ('2g', 'Informationssicherheit', 'Beratung und Schulung zur Informationssicherheit in Verwaltungen.', 7),
    ('2h', 'Fachtagungen', 'Kosten der Teilnahme von Mitarbeiterinnen und Mitarbeitern an Fachtagungen in Thüringen.', 8)
) AS c (code, title, description, position)
WHERE p.short_name = 'ThürEGovRL';
