//! The inputs the filter module is tested and measured with, shared by the automation
//! (`xtask`) and the in-process host (`filter-host`): the hostile corpus and the benchmark's
//! variants. Pure: it starts no process and sends no request.

pub mod hostile;
pub mod variants;
