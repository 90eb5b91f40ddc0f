//! Who is calling: bearer-token authentication and the role-demanding
//! extractor every management route uses.

mod extractor;

pub use extractor::{access, Auth, Caller, Permission};
