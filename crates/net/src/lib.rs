//! oxv-net (work in progress).
#![cfg_attr(not(test), no_std)]
