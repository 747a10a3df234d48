// Two versions of a process file side by side, coloured by bpmn-js-differ: added (green) and changed
// (amber) on the newer, removed (red) on the older; the table under them lists the same changes as text.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer'
import { diff } from 'bpmn-js-differ'

import spiffworkflow from './spiffworkflow.json'

import 'bpmn-js/dist/assets/diagram-js.css'
import 'bpmn-js/dist/assets/bpmn-js.css'
import './compare.css'

async function show (container, xml) {
  const viewer = new NavigatedViewer({ container, moddleExtensions: { spiffworkflow } })
  await viewer.importXML(xml)
  viewer.get('canvas').zoom('fit-viewport')
  return viewer
}

function mark (viewer, ids, css) {
  const registry = viewer.get('elementRegistry')
  ids.forEach(id => { if (registry.get(id)) viewer.get('canvas').addMarker(id, css) })
}

async function start () {
  const source = document.getElementById('compare-data')
  if (!source) return
  const data = JSON.parse(source.textContent)
  const holder = document.getElementById('compare')
  for (const name of Object.keys(data.files).sort()) {
    const pair = data.files[name]
    const section = document.createElement('section')
    section.className = 'app-compare'
    section.setAttribute('data-file', name)
    const heading = document.createElement('h2')
    heading.className = 'govuk-heading-m'
    heading.textContent = name
    section.appendChild(heading)
    const row = document.createElement('div')
    row.className = 'app-compare__row'
    const boxes = [pair.old, pair.new].map((xml, i) => {
      const figure = document.createElement('figure')
      figure.className = 'app-compare__figure'
      const caption = document.createElement('figcaption')
      caption.className = 'govuk-body-s'
      caption.textContent = 'Version ' + (i === 0 ? data.old : data.new) + (xml ? '' : ': no such file')
      const box = document.createElement('div')
      box.className = 'app-compare__box'
      figure.appendChild(caption)
      figure.appendChild(box)
      row.appendChild(figure)
      return box
    })
    section.appendChild(row)
    holder.appendChild(section)
    if (!pair.old || !pair.new) continue
    const [older, newer] = await Promise.all([show(boxes[0], pair.old), show(boxes[1], pair.new)])
    const changes = diff(older.getDefinitions(), newer.getDefinitions())
    const added = Object.keys(changes._added)
    const removed = Object.keys(changes._removed)
    const changed = Object.keys(changes._changed)
    mark(newer, added, 'app-diff-added')
    mark(newer, changed, 'app-diff-changed')
    mark(older, removed, 'app-diff-removed')
    mark(older, changed, 'app-diff-changed')
    const list = document.createElement('ul')
    list.className = 'govuk-list govuk-list--bullet'
    const describe = (id, what, element) => {
      const item = document.createElement('li')
      item.setAttribute('data-change', what)
      item.textContent = what + ': ' + ((element && element.name) ? element.name + ' (' + id + ')' : id)
      list.appendChild(item)
    }
    added.forEach(id => describe(id, 'Added', changes._added[id]))
    removed.forEach(id => describe(id, 'Removed', changes._removed[id]))
    changed.forEach(id => {
      const attrs = Object.keys(changes._changed[id].attrs || {}).join(', ')
      describe(id, 'Changed', changes._changed[id].model)
      if (attrs) list.lastChild.textContent += ': ' + attrs
    })
    if (!list.children.length) describe(name, 'No change to the process (layout only, or none)', null)
    section.appendChild(list)
  }
  holder.setAttribute('data-rendered', 'true')
}

start().catch(err => {
  const holder = document.getElementById('compare')
  if (holder) holder.textContent = 'The diagrams could not be drawn: ' + err.message
})
