//! The tokio shell (work in progress): accept loop and shutdown.
use std::future::Future;

use crate::{Config, Listener};

pub(crate) async fn run<L: Listener>(
    mut listener: L,
    shutdown: impl Future<Output = ()> + Send,
    config: Config,
) -> std::io::Result<()> {
    config
        .limits
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => drop(accepted),
        }
    }
}
