//! Who is calling: bearer-token authentication and the role-demanding
//! extractor every management route uses, and the subscriber API's.

mod device;
mod extractor;
mod subscriber;

pub use device::{authenticate as authenticate_device, DeviceAuth, DirectoryAuth};
pub use extractor::{access, bearer, Auth, Caller, Permission};
pub use subscriber::SubscriberAuth;
