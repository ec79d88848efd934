//! Certificates made at test time: a CA and a certificate for `localhost` and `127.0.0.1`
//! signed by it (a server's, also usable as a client's), written as PEM files into a
//! directory the test owns. The same maker as `make run`'s dev CA
//! (`waybill_auth::dev_certs`); nothing is committed, every run makes its own:
//! `TestCertificates::generate(dir).expect("test certificates")`.

pub use waybill_auth::dev_certs::DevCertificates as TestCertificates;
