//! The storage conformance suite (written by the SQLite backend work).
