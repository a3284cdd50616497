//! Integration tests against the local stand-ins they start and stop themselves: moto (with
//! `tests/support/moto_aws.py`), `cargo lambda watch`'s Runtime API emulator, and the Python and
//! Node tools `make setup` installs into `.venv/` and `node_modules/` (the AWS CLI, cfn-lint,
//! asl-validator). `cargo test --test stand_in`, after `make setup`.
//!
//! The tests run as threads of this one process: each starts its own servers on free ports and
//! passes settings to the processes it starts, never through this process's environment or
//! working directory.

#[path = "../support/mod.rs"]
mod support;
#[path = "../support/venv.rs"]
mod venv;

mod cli;
mod control;
mod emulator;
mod eventbridge;
mod events;

mod budget;
mod cli_cost;
mod cli_inputs;
mod cli_invalidate;
mod cli_rollback;
mod cli_room;
mod cli_tenants;
mod compare;
mod cross_account;
mod failed_event_queue;
mod faults;
mod handler_moto;
mod lambda_watch;
mod quota;
mod stepfunctions;
mod template;
mod tenant_lists;
mod tenants;
mod tracking;
