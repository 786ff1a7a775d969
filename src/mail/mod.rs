//! E-mail: messages and their templates, the transactional outbox, the delivery worker and the
//! transports. Features never talk SMTP: they enqueue a message in the same transaction as the
//! change that causes it, and the worker delivers it. Imports no feature.

pub mod messages;
pub mod outbox;
pub mod transport;
pub mod worker;

pub use messages::Message;
pub use outbox::{Outbox, Recipient};
pub use transport::Mailer;
pub use worker::Worker;
