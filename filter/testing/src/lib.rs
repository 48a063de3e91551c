//! The inputs the filter module is tested and measured with, shared by the automation
//! (`xtask`) and the in-process host (`filter-host`): the hostile corpus and the benchmark's
//! variants, and what the automation hands to the in-process host ([`handed_in`]). Pure: it
//! starts no process and sends no request.

pub mod handed_in;
pub mod hostile;
pub mod variants;
