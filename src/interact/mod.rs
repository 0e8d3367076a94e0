//! Buttons on alerts, pure: Slack's interactivity request read and verified ([`request`],
//! [`verify`]), the button pressed ([`press`]), the alert it acts on as stored when it was
//! posted ([`alert`]), and what each button does to the message and the thread ([`reply`]).
//! The handler (`handler/buttons.rs`) performs it: the state table, Slack, ECS RunTask.

pub mod alert;
pub mod press;
pub mod reply;
pub mod request;
pub mod verify;

pub use alert::{AlertRecord, RunSpec};
pub use press::{Action, Press};
pub use request::{Refusal, SignedRequest};
