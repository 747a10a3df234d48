// A small Markdown preview (paragraphs, bullet lists, **bold**, *italic*, `code`): everything is escaped
// first, so the instructions cannot put HTML into the editor.
function escape (text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function inline (text) {
  return escape(text)
    .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
    .replace(/\*(.+?)\*/g, '<em>$1</em>')
    .replace(/`(.+?)`/g, '<code>$1</code>')
}

export function markdownPreview (source) {
  return source.split(/\n{2,}/).map(block => {
    const lines = block.split('\n')
    if (lines.every(line => /^\s*[-*] /.test(line))) {
      return '<ul>' + lines.map(line => '<li>' + inline(line.replace(/^\s*[-*] /, '')) + '</li>').join('') + '</ul>'
    }
    return '<p>' + inline(lines.join(' ')) + '</p>'
  }).join('')
}
