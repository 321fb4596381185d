/** Each ```sh block of a Markdown document, with the heading it sits under (executable docs). */
export function shBlocks(markdown: string): { section: string; script: string }[] {
  const blocks: { section: string; script: string }[] = [];
  let section = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heading = /^#+ (.+)$/.exec(line);
    if (heading) section = heading[1] as string;
    if (line.trim() === '```sh') {
      const body: string[] = [];
      while (++i < lines.length && (lines[i] as string).trim() !== '```') body.push(lines[i] as string);
      blocks.push({ section, script: body.join('\n') });
    }
  }
  return blocks;
}

/** A heading as a Markdown anchor (`## Undo a bad delete` → `undo-a-bad-delete`). */
export function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}
