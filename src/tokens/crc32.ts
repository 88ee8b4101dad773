/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum GitHub's
 * token format uses. Node 20 has no `zlib.crc32` (added in 22.2), and the table
 * is 1 KiB, so it lives here.
 */
const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 of the first `end` characters of `text`, each taken as one byte
 * (Latin-1). Token text is ASCII, so this equals the CRC of its UTF-8 bytes
 * without encoding it into a buffer first.
 */
export function crc32Latin1(text: string, end: number = text.length): number {
  let crc = 0xffffffff;
  for (let i = 0; i < end; i++) {
    // `?? 0` only satisfies noUncheckedIndexedAccess: the index is masked to 0..255.
    crc = (CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
