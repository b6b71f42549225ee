//! Access and refresh tokens: keys, verification with a cache, minting.
