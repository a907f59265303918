// The DuckDB peer: runs windows.sql over a CSV file with a given number of threads and writes one
// JSON object per window (the peer format that bench/check_windows.py reads).
//   node windows.mjs --csv FILE --out FILE --threads N
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
if (!args.csv || !args.out || !args.threads) {
  console.error('usage: node windows.mjs --csv FILE --out FILE --threads N');
  process.exit(2);
}
const quote = (s) => s.replaceAll("'", "''");  // paths go into SQL string literals
const sql = readFileSync(new URL('windows.sql', import.meta.url), 'utf8')
  .replaceAll('{{csv}}', quote(args.csv))
  .replaceAll('{{out}}', quote(args.out));

// In memory, as a data engineer would run a one-off job; threads is the measured variable.
// Insertion order is not needed (every result is sorted explicitly), which lets DuckDB stream more.
const instance = await DuckDBInstance.create(':memory:', { threads: String(args.threads),
                                                          preserve_insertion_order: 'false' });
const connection = await instance.connect();
await connection.run(sql);
connection.closeSync();
