//! After-sales tickets end to end, one scenario a file; their helpers are
//! `wavecast_e2e::support`.

mod faults;
mod isolation;
mod lifecycle;
mod queue;
mod returns;
mod routing;
mod surveys;
