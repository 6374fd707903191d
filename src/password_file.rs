//! Password files for clients that read one: .pgpass lines and MySQL option files.
