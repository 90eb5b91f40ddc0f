//! Licences and entitlements: products sold under licence (codec packs,
//! DRM levels, apps), the policies they are sold under, licences held by
//! subscribers or boxes, their activations on boxes, and validation with a
//! machine-readable code. [`rules`] is pure; [`store`] reads and writes
//! products, policies and licences, [`bindings`] binds them to boxes at
//! the SQL edge and [`activations`] as operators do,
//! [`validation`] answers whether one is valid, [`entitled`] which boxes a
//! rollout may count on for a product, [`offers`] whether a box
//! may be offered a licensed bundle, [`tokens`] the signed tokens boxes
//! keep to answer offline;
//! [`routes`] is `/api/v1/products`, `/api/v1/licence-policies` and
//! `/api/v1/licences`; [`views`] the bodies they take and answer.

pub mod activations;
pub mod bindings;
pub mod entitled;
pub mod offers;
pub mod routes;
pub mod rules;
pub mod store;
pub mod tokens;
pub mod validation;
pub mod views;
