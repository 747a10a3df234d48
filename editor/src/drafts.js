// Unsaved edits kept in the browser's localStorage, one draft per base version and main file, so leaving the
// page (a link, a reload, a closed tab) or a refused save does not lose them. Storage may be unavailable
// (private windows, policies) or full: then drafts are simply not kept.
const PREFIX = 'rapidreview.editor.draft.'

export function draftKey (base, main) {
  return PREFIX + base + '.' + main
}

// { savedAt: ISO time, files: { name: xml } } or null.
export function readDraft (key) {
  try {
    const draft = JSON.parse(window.localStorage.getItem(key) || 'null')
    return draft && typeof draft.files === 'object' && draft.files !== null ? draft : null
  } catch (err) {
    return null
  }
}

export function writeDraft (key, files) {
  try {
    window.localStorage.setItem(key, JSON.stringify({ savedAt: new Date().toISOString(), files }))
  } catch (err) {
    // Unavailable or full: the edit is still in the page.
  }
}

export function removeDraft (key) {
  try {
    window.localStorage.removeItem(key)
  } catch (err) {
    // Unavailable: there is nothing to remove.
  }
}

// The draft's files that differ from the version's own (only these are worth offering).
export function differingFiles (draft, files) {
  if (!draft) return {}
  return Object.fromEntries(Object.entries(draft.files)
    .filter(([name, xml]) => typeof xml === 'string' && files[name] !== undefined && files[name] !== xml))
}
