// The process editor: bpmn-js's Modeler with the properties panel (and this project's properties), live
// bpmnlint and token simulation. Save sends every changed file to the server, which runs the same checks
// as `rapidreview validate` and stores a candidate version, or answers with the problems, shown here on
// the elements themselves.
import Modeler from 'bpmn-js/lib/Modeler'
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel'
import lintModule from 'bpmn-js-bpmnlint'
import TokenSimulationModule from 'bpmn-js-token-simulation'
import bpmnlint from 'virtual:bpmnlint-config'

import spiffworkflow from './spiffworkflow.json'
import RapidReviewPropertiesModule from './properties/index.js'
import { showProblems, clearProblems } from './problems.js'
import { differingFiles, draftKey, readDraft, removeDraft, writeDraft } from './drafts.js'

import 'bpmn-js/dist/assets/diagram-js.css'
import 'bpmn-js/dist/assets/bpmn-js.css'
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css'
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css'
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css'
import 'bpmn-js-token-simulation/assets/css/bpmn-js-token-simulation.css'
import './editor.css'

function start () {
  const holder = document.getElementById('process-editor')
  const source = document.getElementById('editor-data')
  if (!holder || !source) return
  const data = JSON.parse(source.textContent)
  const names = Object.keys(data.files).sort((a, b) => (a === data.main ? -1 : b === data.main ? 1 : a.localeCompare(b)))
  const xml = Object.assign({}, data.files)
  const changed = new Set()
  let current = null
  let problems = []

  const modeler = new Modeler({
    container: '#editor-canvas',
    // This project's groups open by default: they hold what a process owner changes most.
    propertiesPanel: {
      parent: '#editor-properties',
      layout: { groups: Object.fromEntries(['rr-task', 'rr-timer', 'rr-service', 'rr-lane', 'rr-multi'].map(id => [id, { open: true }])) }
    },
    linting: { bpmnlint, active: true },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, RapidReviewPropertiesModule,
      lintModule, TokenSimulationModule],
    moddleExtensions: { spiffworkflow },
    rapidReview: data
  })
  const fileChoice = document.getElementById('editor-file')
  const status = document.getElementById('editor-status')

  function say (text) { status.textContent = text }

  // Unsaved changes (files edited since the page opened or last saved) are kept as a draft in the browser,
  // a moment after each edit, and leaving the page asks first.
  const draftName = draftKey(data.base, data.main)
  const DRAFT_DELAY = 500
  let draftTimer = null
  // While the banner offers an earlier draft, new edits do not overwrite it: the owner decides first.
  let offerPending = false

  async function keepDraft () {
    draftTimer = null
    if (offerPending) return
    if (!changed.size) { removeDraft(draftName); return }
    await keepCurrent()
    writeDraft(draftName, Object.fromEntries([...changed].map(name => [name, xml[name]])))
  }

  function scheduleDraft () {
    clearTimeout(draftTimer)
    draftTimer = setTimeout(() => { keepDraft().catch(() => {}) }, DRAFT_DELAY)
  }

  function forgetDraft () {
    clearTimeout(draftTimer)
    draftTimer = null
    removeDraft(draftName)
  }

  window.addEventListener('beforeunload', (event) => {
    if (!changed.size) return
    event.preventDefault()
    event.returnValue = ''
  })

  function offerDraft () {
    const files = differingFiles(readDraft(draftName), data.files)
    const names = Object.keys(files)
    const banner = document.getElementById('editor-draft')
    if (!names.length || !banner) return
    const when = new Date(readDraft(draftName).savedAt)
    document.getElementById('editor-draft-files').textContent = names.join(', ')
    document.getElementById('editor-draft-when').textContent = isNaN(when) ? 'an earlier visit' : when.toLocaleString('en-GB')
    banner.hidden = false
    banner.focus()
    offerPending = true
    const close = () => {
      offerPending = false
      banner.hidden = true
      fileChoice.focus()
      scheduleDraft()
    }
    document.getElementById('editor-draft-restore').onclick = async () => {
      await keepCurrent()
      names.forEach(name => { xml[name] = files[name]; changed.add(name) })
      const showing = current
      current = null
      await open(showing)
      close()
      say('Restored your unsaved changes in ' + names.join(', ') + '. Save to check them and store them as a candidate.')
      holder.setAttribute('data-restored', 'true')
    }
    document.getElementById('editor-draft-discard').onclick = () => {
      forgetDraft()
      close()  // edits made since opening are kept as the new draft
      say('Discarded the unsaved changes kept in this browser.')
    }
  }

  async function keepCurrent () {
    if (current === null || !changed.has(current)) return
    const result = await modeler.saveXML({ format: true })
    xml[current] = result.xml
  }

  async function open (name) {
    await keepCurrent()
    current = name
    await modeler.importXML(xml[name])
    modeler.get('canvas').zoom('fit-viewport')
    showProblems(modeler, problems.filter(p => p.file === name))
    holder.setAttribute('data-file', name)
    holder.setAttribute('data-ready', 'true')
  }

  modeler.on('commandStack.changed', (event) => {
    // Opening a file clears the command stack, which is not a change.
    if (current === null || event.trigger === 'clear') return
    changed.add(current)
    say('Unsaved changes in ' + [...changed].join(', ') + '.')
    scheduleDraft()
  })

  names.forEach(name => {
    const option = document.createElement('option')
    option.value = name
    option.textContent = name
    fileChoice.appendChild(option)
  })
  fileChoice.addEventListener('change', () => open(fileChoice.value))

  // A file from the owner's computer (say, saved from Camunda Modeler) replaces the file of the same name,
  // or the chosen one; it is checked like any edit when saved.
  const openInput = document.getElementById('editor-open')
  openInput.addEventListener('change', async () => {
    const file = openInput.files[0]
    if (!file) return
    const target = names.includes(file.name) ? file.name : fileChoice.value
    await keepCurrent()
    const previous = xml[target]
    xml[target] = await file.text()
    current = null
    fileChoice.value = target
    try {
      await open(target)
    } catch (err) {
      xml[target] = previous
      await open(target)
      say(file.name + ' could not be opened (' + err.message + '): it is not a BPMN diagram. Nothing changed.')
      return
    }
    changed.add(target)
    scheduleDraft()
    say('Opened ' + file.name + ' in place of ' + target + '. Save to check it and store it as a candidate.')
  })

  document.getElementById('editor-zoom-fit').addEventListener('click', () => modeler.get('canvas').zoom('fit-viewport'))

  document.getElementById('editor-save').addEventListener('click', async (event) => {
    event.preventDefault()
    await keepCurrent()
    if (!changed.size) {
      say('Nothing has changed: edit the diagram or its properties first.')
      return
    }
    const note = document.getElementById('editor-note').value
    const files = {}
    changed.forEach(name => { files['bpmn/' + name] = xml[name] })
    say('Saving and checking...')
    let answer
    try {
      const response = await fetch(data.saveUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': data.csrfToken },
        body: JSON.stringify({ files, note })
      })
      answer = await response.json()
    } catch (err) {
      say('The version could not be saved (' + err.message + '). Your changes are still here: try again.')
      return
    }
    problems = answer.problems || []
    const summary = document.getElementById('editor-problems')
    clearProblems(modeler)
    if (answer.url) {
      summary.hidden = true
      changed.clear()
      forgetDraft()
      const link = document.createElement('a')
      link.href = answer.url
      link.className = 'govuk-link'
      link.textContent = 'open version ' + answer.number + ' to try it on a scenario and make it active'
      status.textContent = answer.message + ' '
      status.appendChild(link)
      holder.setAttribute('data-saved', String(answer.number))
      return
    }
    showProblems(modeler, problems.filter(p => p.file === current))
    renderSummary(summary, problems, name => { fileChoice.value = name; return open(name) })
    say('Not saved: the process has ' + problems.length + (problems.length === 1 ? ' problem' : ' problems') +
        '. Nothing was stored; your changes are still here.')
  })

  function renderSummary (summary, list, switchTo) {
    const items = summary.querySelector('ul')
    items.innerHTML = ''
    list.forEach(problem => {
      const item = document.createElement('li')
      const link = document.createElement('a')
      link.href = '#editor-canvas'
      link.textContent = (problem.element_name || problem.element_id || problem.file) + ': ' + problem.message
      link.addEventListener('click', async (event) => {
        event.preventDefault()
        if (problem.file !== current && xml[problem.file] !== undefined) await switchTo(problem.file)
        const element = problem.element_id && modeler.get('elementRegistry').get(problem.element_id)
        if (element) {
          modeler.get('selection').select(element)
          modeler.get('canvas').scrollToElement(element)
        }
      })
      item.appendChild(link)
      item.appendChild(document.createTextNode(' (' + problem.file + ')'))
      items.appendChild(item)
    })
    summary.hidden = false
    summary.focus()
  }

  fileChoice.value = names[0]
  open(names[0]).then(offerDraft).catch(err => say('The diagram could not be opened: ' + err.message))
  window.rapidReviewEditor = { modeler, open, changed, hasUnsavedChanges: () => changed.size > 0 }
}

start()
