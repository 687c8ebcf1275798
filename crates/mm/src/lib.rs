//! oxv-mm (work in progress).
#![cfg_attr(not(test), no_std)]
