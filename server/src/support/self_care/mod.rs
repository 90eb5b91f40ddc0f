//! The subscriber API (`/api/v1/subscriber/…`, `wcs_` tokens): what an
//! operator's app or self-care portal calls for one subscriber ([`routes`]).

pub mod routes;
