"""Pure core: bytes in, typed values out. No sockets, no SQL, no clock reads."""
