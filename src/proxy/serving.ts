// Which color serves: the one whose port the upstream file names. The file is what nginx reads
// at its next (re)start, so after a power cut it is the truth the host comes back to.
import type { BlueGreenApp, Color } from "../config/blue-green.js";
import { COLORS } from "../config/blue-green.js";
import { readUpstream } from "./upstream-file.js";

// Undefined before the first blue-green deploy wrote the file; an error when the file names a
// port that is neither color's (someone edited it by hand).
export async function servingColor(app: BlueGreenApp): Promise<Color | undefined> {
  const file = app.blue_green.upstream_file;
  const upstream = await readUpstream(file);
  if (!upstream) return undefined;
  const color = COLORS.find((c) => app.blue_green.ports[c] === upstream.port);
  if (!color) {
    throw new Error(
      `${file} sends traffic to port ${upstream.port}, which is neither blue (${app.blue_green.ports.blue}) nor green (${app.blue_green.ports.green})`,
    );
  }
  return color;
}
