//! The lists the reviewers' filters choose from (rounds, categories, Landkreise), kept in
//! memory: they change a few times a year, and reading them cost three round trips on every
//! dashboard view.
//!
//! The database announces every change of rounds, categories and municipalities on the channel
//! [`CHANNEL`] (statement triggers); each instance listens ([`keep_fresh`]) and forgets its copy
//! when one arrives. While an instance is not listening (before the listener is up, after it
//! lost its connection), it keeps nothing and reads the lists for every page.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use super::db;

pub const CHANNEL: &str = "reference_data";

#[derive(Debug, PartialEq, Eq)]
pub struct Choices {
    pub rounds: Vec<(i64, String)>,
    pub categories: Vec<(String, String)>,
    pub districts: Vec<(i64, String)>,
}

#[derive(Default)]
pub struct ChoiceCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    listening: bool,
    /// Counts the changes heard of: a copy read before the latest one is not kept.
    generation: u64,
    current: Option<Arc<Choices>>,
}

impl ChoiceCache {
    fn state(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub async fn get(&self, conn: &mut PgConnection) -> sqlx::Result<Arc<Choices>> {
        let generation = {
            let state = self.state();
            if let Some(current) = &state.current {
                return Ok(Arc::clone(current));
            }
            state.generation
        };
        let loaded = Arc::new(Choices {
            rounds: db::round_choices(conn).await?,
            categories: db::category_choices(conn).await?,
            districts: crate::municipalities::db::district_choices(conn).await?,
        });
        let mut state = self.state();
        if state.listening && state.generation == generation {
            state.current = Some(Arc::clone(&loaded));
        }
        Ok(loaded)
    }

    /// Something changed, or whether we hear of changes did.
    fn forget(&self, listening: bool) {
        let mut state = self.state();
        state.generation += 1;
        state.current = None;
        state.listening = listening;
    }
}

/// Listens for changes until `stop`; after a lost connection it listens again a second later.
pub async fn keep_fresh(pool: PgPool, cache: Arc<ChoiceCache>, stop: CancellationToken) {
    let mut warned = false;
    while !stop.is_cancelled() {
        let listening = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listening.await {
            Ok(mut listener) => {
                warned = false;
                // Whatever was read before we listened may be older than a change we missed.
                cache.forget(true);
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        heard = listener.try_recv() => match heard {
                            Ok(Some(_)) => cache.forget(true),
                            // The connection is gone, and with it what was said meanwhile.
                            Ok(None) | Err(_) => break,
                        },
                    }
                }
                cache.forget(false);
            }
            Err(e) if !warned => {
                warned = true;
                tracing::warn!(error = %e, "cannot listen for changes of rounds and categories; reading them for every page");
            }
            Err(_) => {}
        }
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
