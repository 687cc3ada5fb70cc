/**
 * One lab across three machines, simulated on this one (tests/_machines.ts): each machine has its
 * own network namespace with a NIC `phy0` on a shared segment, and its own /run/netns,
 * /run/nslab and /etc/netns. One nslab process per machine applies its host's part from one
 * resolved bundle, binding the host to `phy0` (`--underlay-dev`); the lab is then checked from
 * every machine. Machine 3 has an extra route that shifts the automatic overlay subnet: the bundle
 * keeps the lab right, and without the bundle (or with machine 3's own bundle) machine 3's part is
 * refused. Breaking the segment makes the cross-machine checks fail.
 */

import assert, { deepEqual as assertEquals } from "node:assert/strict";
import { type Machine, Machines } from "./_machines.ts";

const exists = (path: string) =>
  Deno.stat(path).then(
    () => true,
    (e) => e instanceof Deno.errors.NotFound ? false : Promise.reject(e),
  );

const TOPOLOGY = (lab: string) =>
  `name: ${lab}
underlay: { subnet: 198.51.100.0/24 }
hosts:
  h1: { address: 198.51.100.11 }
  h2: { address: 198.51.100.12 }
  h3: { address: 198.51.100.13 }
networks:
  mesh: { driver: overlay }
  side: { driver: bridge }
containers:
  peer1: { host: h1, expose: [80], networks: [mesh] }
  peer2: { host: h2, expose: [80], networks: [mesh] }
  peer3: { host: h3, expose: [80], networks: [mesh, side] }
  lonely: { host: h3, expose: [80], networks: [side] }
`;

interface Report {
  results: { pass: boolean; expectation: { id: string; source: string } }[];
}

interface BundleFile {
  digest: string;
  model: {
    networks: { name: string; subnet: string }[];
    containers: { name: string; endpoints: { network: string; address: string }[] }[];
  };
}

const meshSubnet = (b: BundleFile) => b.model.networks.find((n) => n.name === "mesh")!.subnet;
const meshAddress = (b: BundleFile, c: string) =>
  b.model.containers.find((x) => x.name === c)!.endpoints.find((e) => e.network === "mesh")!
    .address;

/** `nslab check --only-host` on a machine: exit code and the ids that passed and failed. */
async function checkFrom(m: Machine, lab: string, host: string) {
  const r = await m.nslab(["check", "-p", lab, "--only-host", host, "--format", "json"]);
  const report = JSON.parse(r.stdout) as Report;
  const ids = (pass: boolean) =>
    report.results.filter((x) => x.pass === pass).map((x) => x.expectation.id);
  const sources = [...new Set(report.results.map((x) => x.expectation.source))].sort();
  return { code: r.code, passed: ids(true), failed: ids(false), sources, err: r.stderr };
}

Deno.test({
  name: "three machines run one lab from one bundle over their own NICs; mismatches are refused",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const id = crypto.randomUUID().replaceAll("-", "").slice(0, 7);
    const lab = `mm${id}`;
    await using machines = await Machines.create(`mmq${id}`, 3);
    const [m1, m2, m3] = machines.list;
    const dir = await Deno.makeTempDir({ prefix: "mm-multi-" });
    const file = `${dir}/lab.yaml`;
    await Deno.writeTextFile(file, TOPOLOGY(lab));
    const bundle = `${dir}/lab.bundle.json`;
    const own3 = `${dir}/m3.bundle.json`;
    const read = async (p: string) => JSON.parse(await Deno.readTextFile(p)) as BundleFile;
    const up = (m: Machine, i: number, from: string[]) =>
      m.nslab([
        "up",
        ...from,
        "--only-host",
        `h${i}`,
        "--underlay-dev",
        "phy0",
        "--progress",
        "plain",
      ]);
    const before = await Promise.all(machines.list.map((m) => m.addressesAndRoutes()));
    try {
      await t.step(
        "machine 3's extra route would shift the overlay subnet it resolves",
        async () => {
          assertEquals((await m1.nslab(["bundle", "-f", file, "-o", bundle])).code, 0);
          await m3.exec(["ip", "route", "add", "10.0.0.0/24", "via", "198.51.100.254"]);
          before[2] = await m3.addressesAndRoutes();
          assertEquals((await m3.nslab(["bundle", "-f", file, "-o", own3])).code, 0);
          const [b1, b3] = [await read(bundle), await read(own3)];
          assertEquals(meshSubnet(b1), "10.0.0.0/24");
          assert(meshSubnet(b3) !== meshSubnet(b1), meshSubnet(b3));
          assert(b1.digest !== b3.digest);
        },
      );

      await t.step(
        "a NIC that is missing or off the segment is refused, nothing made",
        async () => {
          const bind = (dev: string) =>
            m1.nslab(["up", "--bundle", bundle, "--only-host", "h1", "--underlay-dev", dev]);
          const off = await bind("lo");
          assertEquals(off.code, 2, off.out);
          assert(
            off.stderr.includes(`198.51.100.11 is not on "lo"'s segment (127.0.0.0/8)`),
            off.stderr,
          );
          const gone = await bind("nope0");
          assertEquals(gone.code, 2, gone.out);
          assert(gone.stderr.includes(`no interface "nope0"`), gone.stderr);
          assertEquals(await m1.leftovers(), []);
        },
      );

      await t.step("each machine applies its part of the one bundle", async () => {
        const rs = await Promise.all(
          machines.list.map((m, i) => up(m, i + 1, ["--bundle", bundle])),
        );
        for (const r of rs) assertEquals(r.code, 0, r.stderr);
        const b = await read(bundle);
        // machine 3 got the bundle's subnet, not the one its routes would have chosen
        const addr = await m3.inNs(`${lab}-peer3`, ["ip", "-4", "-o", "addr", "show", "eth0"]);
        assert(addr.stdout.includes(`${meshAddress(b, "peer3")}/24`), addr.stdout);
        // the host's eth0 is a macvlan of the machine's NIC
        const link = await m2.inNs(`${lab}-h2`, ["ip", "-d", "-o", "link", "show", "eth0"]);
        assert(link.stdout.includes("macvlan mode bridge"), link.stdout);
      });

      await t.step("from every machine: overlay reach, remote DNS, isolation", async () => {
        const b = await read(bundle);
        const peers = ["peer1", "peer2", "peer3"];
        for (const [i, m] of machines.list.entries()) {
          const me = peers[i];
          const c = await checkFrom(m, lab, `h${i + 1}`);
          assertEquals(c.failed, [], c.err);
          assertEquals(c.code, 0);
          // only what this machine's part can probe: its containers (no host-sourced check here)
          assertEquals(c.sources, i === 2 ? ["lonely", "peer3"] : [me]);
          assert(
            c.passed.some((x) => x.includes(`${me}->`) && x.includes("mesh")),
            c.passed.join(),
          );
          for (const other of peers.filter((p) => p !== me)) {
            const web = await m.inNs(`${lab}-${me}`, ["curl", "-s", "-m", "3", `http://${other}/`]);
            assertEquals(web.stdout, `${other}\n`, `${me} → ${other}`);
            const dns = await m.inNs(`${lab}-${me}`, ["getent", "hosts", other]);
            assertEquals(dns.stdout.split(/\s+/)[0], meshAddress(b, other));
          }
        }
        const lonely = b.model.containers.find((x) => x.name === "lonely")!.endpoints[0].address;
        const ping = (m: Machine, from: string) =>
          m.inNs(`${lab}-${from}`, ["ping", "-c1", "-W1", "-q", lonely]);
        assertEquals((await ping(m3, "peer3")).code, 0, "peer3 shares side with lonely");
        assert((await ping(m1, "peer1")).code !== 0, "peer1 shares no network with lonely");
        assert((await m1.inNs(`${lab}-peer1`, ["getent", "hosts", "lonely"])).code !== 0);
      });

      await t.step("the machines' own addresses and routes are unchanged", async () => {
        assertEquals(await Promise.all(machines.list.map((m) => m.addressesAndRoutes())), before);
      });

      await t.step(
        "unplugging machine 2 from the segment makes machine 1's checks fail",
        async () => {
          await machines.cable(2, "down");
          const c = await checkFrom(m1, lab, "h1");
          assertEquals(c.code, 1);
          assert(c.failed.some((x) => x.includes("peer2")), c.failed.join());
          assert(c.failed.every((x) => x.includes("peer2") || x.includes("h2")), c.failed.join());
          await machines.cable(2, "up");
          const again = await checkFrom(m1, lab, "h1");
          assertEquals(again.failed, []);
        },
      );

      await t.step("a part from another bundle refuses to join and leaves nothing", async () => {
        // on one machine, the lab's recorded digest refuses it before anything is made
        const here = await up(m1, 2, ["--bundle", own3]);
        assertEquals(here.code, 1, here.out);
        assert(here.stderr.includes("already exists from another file or bundle"), here.stderr);
        assertEquals(
          (await m1.exec(["ls", "/run/netns"])).stdout.split("\n").filter(Boolean).sort(),
          [
            `${lab}-h1`,
            `${lab}-peer1`,
          ],
        );
        // across machines, the join check refuses it
        assertEquals((await m3.nslab(["down", "-p", lab])).code, 0);
        const r = await up(m3, 3, ["--bundle", own3, "--progress", "plain"]);
        assertEquals(r.code, 1, r.out);
        assert(r.stderr.includes('host "h1" runs a different model'), r.stderr);
        assertEquals(await m3.leftovers(), []);
        assertEquals(
          (await checkFrom(m1, lab, "h1")).failed.filter((x) => x.includes("peer2")),
          [],
        );
      });

      await t.step("without a bundle, machine 3's different resolution is refused", async () => {
        for (const m of [m1, m2]) assertEquals((await m.nslab(["down", "-p", lab])).code, 0);
        // the file lies at another path on each machine: only the resolved network counts
        const files = await Promise.all([1, 2, 3].map(async (i) => {
          await Deno.mkdir(`${dir}/m${i}`);
          await Deno.copyFile(file, `${dir}/m${i}/lab.yaml`);
          return `${dir}/m${i}/lab.yaml`;
        }));
        assertEquals((await up(m1, 1, ["-f", files[0]])).code, 0);
        const r2 = await up(m2, 2, ["-f", files[1], "--progress", "plain"]);
        assertEquals(r2.code, 0, r2.stderr);
        assert(r2.stderr.includes("same model as h1"), r2.stderr);
        const r3 = await up(m3, 3, ["-f", files[2]]);
        assertEquals(r3.code, 1, r3.out);
        assert(r3.stderr.includes('host "h2" runs a different model'), r3.stderr);
        assertEquals(await m3.leftovers(), []);
      });
    } finally {
      for (const m of machines.list) await m.nslab(["down", "-p", lab]);
      await Deno.remove(dir, { recursive: true });
    }
    await t.step("nothing is left on any machine", async () => {
      for (const m of machines.list) {
        assertEquals(await m.leftovers(), []);
        const links = (await m.exec(["ip", "-o", "link", "show"])).stdout.split("\n");
        const names = links.filter(Boolean).map((l) => l.split(": ")[1].split("@")[0]);
        assertEquals(names, ["lo", "phy0"]);
      }
      // nor on the real machine
      assert(!(await exists(`/run/nslab/${lab}`)));
      assertEquals([...Deno.readDirSync("/etc/netns")].filter((e) => e.name.startsWith(lab)), []);
      assertEquals([...Deno.readDirSync("/run/netns")].filter((e) => e.name.startsWith(lab)), []);
    });
  },
});
