//! Rollouts: targets, wave plans and the lifecycle ([`rules`]; the
//! target's plan and licence criteria at the SQL edge, [`accounts`]), wave
//! membership and advance ([`waves`]), maintenance windows ([`window`]),
//! health gates ([`gate`] and, at the SQL edge, [`gate_reading`]), loading
//! rollouts ([`store`]), where target boxes stand ([`standing`]) and what
//! that means — stages, counts per wave, boxes not reached, why it waits
//! ([`progress`]), the scheduler that runs the waves ([`scheduler`]),
//! creating one ([`create`]), what operators do to one ([`control`]), and
//! the API ([`routes`], [`rollback`], [`view`]), and the latest reading of
//! a rollout's boxes that pages show ([`snapshot`]).

pub mod accounts;
pub mod control;
pub mod create;
pub mod gate;
pub mod gate_reading;
pub mod progress;
pub mod rollback;
pub mod routes;
pub mod rules;
pub mod scheduler;
pub mod snapshot;
pub mod standing;
pub mod store;
pub mod view;
pub mod waves;
pub mod window;
