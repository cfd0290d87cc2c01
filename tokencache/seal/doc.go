// Package seal is consentry's one sealing layer: AES-256-GCM under named
// keys, for small blobs kept in a shared store. tokencache seals its
// partitions with it, and the middleware its pending sign-ins and records
// (kept requests, loop counters, tenants). It is public so that both can use
// it; applications do not need it.
//
// A blob is, in format version 1:
//
//	0x01 | len(key id) (1 byte) | key id | nonce (12 bytes) | ciphertext and tag
//
// Its additional data is the Keyring's domain | len(ad) (4 bytes, big
// endian) | ad | header, where header is everything before the nonce and ad
// names where the blob is stored (a partition or record key). So a blob opens
// only for the use and the place it was sealed for, and its key id cannot be
// altered. A Keyring holds several keys by id: the first one added seals,
// all open (key rotation).
//
// Derive builds a Keyring from secrets that are not AES keys themselves (the
// middleware's session keys) with HKDF-SHA256 (crypto/hkdf), one key per
// secret and use, named by a hash of the key.
package seal
