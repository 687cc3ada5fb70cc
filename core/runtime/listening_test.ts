import { deepEqual } from "node:assert/strict";
import { parseSocketTable } from "./listening.ts";

const TCP =
  `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0B00007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 020012AC:9C40 030012AC:0050 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
`;

Deno.test("tcp tables count only listening sockets", () => {
  deepEqual([...parseSocketTable(TCP, true)].sort((a, b) => a - b), [53, 8000]);
});

Deno.test("udp tables count every bound socket; junk lines are skipped", () => {
  deepEqual([...parseSocketTable(TCP + "garbage\n", false)].sort((a, b) => a - b), [
    53,
    8000,
    40000,
  ]);
});
