/**
 * Test support for the Docker tests: is an engine reachable, and a tiny busybox image built
 * without any registry (`docker import` of a rootfs made from the machine's busybox-static).
 *
 * Each test builds its own uniquely tagged image and removes the tag in `finally`, so parallel
 * tests never remove an image another one uses. The layers are content-addressed, so building
 * twice costs little.
 *
 * @module
 */

import { docker } from "../../core/runtime/docker.ts";

/** Why the Docker tests cannot run here, or null when an engine answers `docker version`. */
export async function dockerSkipReason(): Promise<string | null> {
  try {
    const r = await docker(["version", "--format", "{{.Server.Version}}"], 15_000);
    if (r.code === 0) return null;
    return `no Docker engine answers (${
      r.stderr.split("\n")[0]
    }); run scripts/docker.sh to install and start one`;
  } catch (e) {
    return `${(e as Error).message}`;
  }
}

/** Runs `docker args…` and returns stdout; throws with Docker's stderr when it fails. */
export async function dockerOut(args: string[]): Promise<string> {
  const r = await docker(args);
  if (r.code !== 0) {
    throw new Error(`docker ${args.join(" ")} failed (exit ${r.code}): ${r.stderr}`);
  }
  return r.stdout;
}

/** Where busybox-static lives on Debian. */
const BUSYBOX = "/bin/busybox";

/**
 * Builds the image `nslab-test-busybox:<tag>`: `/bin/busybox` plus a symlink per applet (sh,
 * ping, nc, wget, nslookup, ip, hostname, httpd, …), `/var/www`, and `CMD ["sh"]`. Equivalent
 * to: `tar -C ROOTFS -c . | docker import -c 'CMD ["sh"]' - nslab-test-busybox:TAG`.
 * Returns the image reference; remove it with {@link removeImage}.
 */
export async function buildBusyboxImage(tag: string): Promise<string> {
  const ref = `nslab-test-busybox:${tag}`;
  const root = await Deno.makeTempDir({ prefix: "nslab-dk-rootfs-" });
  const tar = `${root}.tar`;
  try {
    for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "var/www", "root"]) {
      await Deno.mkdir(`${root}/${d}`, { recursive: true });
    }
    await Deno.copyFile(BUSYBOX, `${root}/bin/busybox`);
    await Deno.chmod(`${root}/bin/busybox`, 0o755);
    const list = await new Deno.Command(BUSYBOX, { args: ["--list"], stdout: "piped" }).output();
    if (!list.success) throw new Error(`${BUSYBOX} --list failed; install busybox-static`);
    for (const applet of new TextDecoder().decode(list.stdout).split("\n")) {
      if (!/^[a-z0-9_.[-]+$/.test(applet) || applet === "busybox") continue;
      await Deno.symlink("busybox", `${root}/bin/${applet}`);
    }
    await Deno.writeTextFile(`${root}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
    await Deno.writeTextFile(`${root}/etc/group`, "root:x:0:\n");
    const t = await new Deno.Command("tar", { args: ["-C", root, "-cf", tar, "."] }).output();
    if (!t.success) throw new Error(`tar of ${root} failed: ${new TextDecoder().decode(t.stderr)}`);
    await dockerOut(["import", "--change", 'CMD ["sh"]', tar, ref]);
    return ref;
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    await Deno.remove(tar).catch(() => {});
  }
}

/** Removes an image tag made by {@link buildBusyboxImage} (errors ignored: cleanup path). */
export async function removeImage(ref: string): Promise<void> {
  await docker(["image", "rm", "--force", ref]).catch(() => {});
}

/**
 * The command that makes a busybox container serve its hostname over HTTP on port 80, like
 * nslab's responder answers with the container name (fixed text, no interpolation).
 */
export const SERVE_HOSTNAME = [
  "sh",
  "-c",
  "hostname > /var/www/index.html && exec httpd -f -p 80 -h /var/www",
];

/** Parsed `busybox nslookup` output: NXDOMAIN, or the IPv4 addresses answered. */
export interface NslookupAnswer {
  rcode: "NOERROR" | "NXDOMAIN" | "OTHER";
  addresses: string[];
  raw: string;
}

/**
 * Parses the output of busybox `nslookup NAME` (A and AAAA are asked; only IPv4 answers are
 * kept, after the `Name:` line, so the server's own `Address: 127.0.0.11:53` is skipped).
 */
export function parseNslookup(out: string): NslookupAnswer {
  if (/can't find [^:]+: NXDOMAIN/.test(out) && !/^Name:/m.test(out)) {
    return { rcode: "NXDOMAIN", addresses: [], raw: out };
  }
  const addresses: string[] = [];
  let inAnswer = false;
  for (const line of out.split("\n")) {
    if (/^Name:/.test(line)) inAnswer = true;
    const m = /^Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (inAnswer && m) addresses.push(m[1]);
  }
  if (addresses.length > 0) return { rcode: "NOERROR", addresses: addresses.sort(), raw: out };
  return { rcode: "OTHER", addresses, raw: out };
}
