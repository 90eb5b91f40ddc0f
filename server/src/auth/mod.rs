//! Who is calling: bearer-token authentication and the role-demanding
//! extractor every management route uses.

mod device;
mod extractor;

pub use device::{authenticate as authenticate_device, DeviceAuth, DirectoryAuth};
pub use extractor::{access, bearer, Auth, Caller, Permission};
