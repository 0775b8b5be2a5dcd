//! Argon2's working memory, kept between hashes.
//!
//! The argon2 crate allocates its 19 MiB of blocks for every hash and frees them
//! after. Fresh pages are faulted in and zeroed by the kernel each time: on a
//! login that was several milliseconds on top of the hash itself, and glibc either
//! returns the pages (mmap) or keeps growing its heap (brk) with every login. A
//! buffer handed from one hash to the next is faulted in once per process.

use std::sync::Mutex;

use argon2::Block;

pub(super) struct Argon2Memory {
    /// Buffers not in use. A hash takes one (or allocates one when none is free)
    /// and puts it back.
    free: Mutex<Vec<Box<[Block]>>>,
    /// Blocks per buffer: the block count of the hasher's own parameters.
    blocks: usize,
    /// Buffers kept when idle: as many as hashes can run at once (Lambda runs one;
    /// the local server one per core). More concurrent hashes allocate, and their
    /// extra buffers are freed afterwards.
    keep: usize,
}

impl Argon2Memory {
    pub(super) fn new(blocks: usize) -> Self {
        let keep = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            free: Mutex::new(Vec::with_capacity(keep)),
            blocks,
            keep,
        }
    }

    /// Whether a hash with `blocks` blocks fits in one buffer.
    pub(super) fn fits(&self, blocks: usize) -> bool {
        blocks <= self.blocks
    }

    /// Runs `hash` with a buffer of `self.blocks` blocks. Argon2 writes every block
    /// before it reads it, so what a previous hash left there never matters.
    pub(super) fn with<T>(&self, hash: impl FnOnce(&mut [Block]) -> T) -> T {
        // A poisoned lock only means a push or pop panicked (out of memory); the
        // buffers in it are still whole, and a hash can always allocate its own.
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        let mut memory =
            reused.unwrap_or_else(|| vec![Block::default(); self.blocks].into_boxed_slice());
        let result = hash(&mut memory);
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.keep
        {
            free.push(memory);
        }
        result
    }

    #[cfg(test)]
    pub(super) fn idle_buffers(&self) -> usize {
        self.free.lock().map_or(0, |free| free.len())
    }
}
