//! Deterministic sample firmware images, bundle specs and the fault catalog,
//! generated on demand so nothing large is committed.
