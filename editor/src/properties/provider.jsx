// This project's properties: a user task's form, instructions and due time; a timer's time; a service
// task's operator and parameters; the role a lane stands for; how a multi-instance element repeats.
import { SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited } from '@bpmn-io/properties-panel'
import { useService } from 'bpmn-js-properties-panel'
import { useEffect, useState } from '@bpmn-io/properties-panel/preact/hooks'
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil'

import { choiceParameter, recipientsParameter } from './pickers.jsx'
import { getBody, getMetadata, getOperator, getParameter, getProperty, getTimeDate, setBody, setMetadata, setOperator,
  setParameter, setProperty, setTimeDate, timerDefinition } from './extensions.js'

const DAY_AT = /^\s*day\(\s*(\d+)\s*,\s*["'](\d{1,2}:\d{2})["']\s*\)\s*$/

function useConfig () {
  return useService('config.rapidReview')
}

function FormEntry ({ element }) {
  const injector = useService('injector')
  const config = useConfig()
  return SelectEntry({
    element,
    id: 'rr-form',
    label: 'Form',
    description: 'The form the person fills in (forms/): its questions, hints and example answer are edited in the form editor.',
    getValue: () => getProperty(element, 'formJsonSchemaFilename'),
    setValue: value => setProperty(element, injector, 'formJsonSchemaFilename', value),
    getOptions: () => [{ value: '', label: '(choose a form)' }, ...config.forms.map(name => ({ value: name, label: name }))]
  })
}

// The form editor opens in a new tab, so the diagram's unsaved changes stay where they are.
function FormLinks ({ element }) {
  const config = useConfig()
  const name = getProperty(element, 'formJsonSchemaFilename')
  const link = (target, text) => <a href={config.formEditUrl.replace('NAME', encodeURIComponent(target))} target="_blank" rel="noopener">{text} (opens in a new tab)</a>
  return (
    <p class="app-rr-note">
      {name && config.forms.includes(name) ? link(name, 'Edit this form') : null}
      {name && config.forms.includes(name) ? ' · ' : null}
      {link('new', 'Create a form')}
    </p>
  )
}

function InstructionsEntry ({ element }) {
  const injector = useService('injector')
  const debounce = useService('debounceInput')
  return TextAreaEntry({
    element,
    id: 'rr-instructions',
    label: 'Instructions',
    description: 'What the person is asked to do, in Markdown. {{ case_reference }} and the other case data may be used.',
    rows: 6,
    debounce,
    getValue: () => getBody(element, 'spiffworkflow:InstructionsForEndUser'),
    setValue: value => setBody(element, injector, 'spiffworkflow:InstructionsForEndUser', value || '')
  })
}

// The instructions as staff will read them: the server renders them with the task page's own renderer
// on the version's sample case, so placeholders are filled and the Markdown is exactly the page's.
const INSTRUCTIONS_PREVIEW_DELAY = 400

function InstructionsPreview ({ element }) {
  const config = useConfig()
  const text = getBody(element, 'spiffworkflow:InstructionsForEndUser')
  const [html, setHtml] = useState('')
  useEffect(() => {
    if (!text) { setHtml(''); return }
    let cancelled = false
    const timer = setTimeout(() => {
      fetch(config.instructionsPreviewUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': config.csrfToken },
        body: JSON.stringify({ text })
      })
        .then(r => { if (!r.ok) throw new Error(r.statusText); return r.json() })
        .then(answer => { if (!cancelled) setHtml(answer.html) })
        .catch(() => { if (!cancelled) setHtml('<p>The preview is not available.</p>') })
    }, INSTRUCTIONS_PREVIEW_DELAY)
    return () => { cancelled = true; clearTimeout(timer) }
  }, [text])
  if (!text) return null
  // The HTML comes from the server's renderer, which escapes everything it does not make itself.
  return <div class="app-rr-preview" data-preview="instructions" aria-live="polite" dangerouslySetInnerHTML={{ __html: html }} />
}

// "Day N at HH:MM": the working-day helper writes day(N, "HH:MM") for the owner.
function DayHelper ({ id, value, onSet }) {
  const match = DAY_AT.exec(value || '')
  const [day, setDay] = useState(match ? match[1] : '')
  const [time, setTime] = useState(match ? match[2] : '17:00')
  useEffect(() => {
    const again = DAY_AT.exec(value || '')
    if (again) { setDay(again[1]); setTime(again[2]) }
  }, [value])
  return (
    <div class="app-rr-helper" data-helper={id}>
      <label>Working day<input type="number" min="1" max="30" value={day} id={`rr-${id}-day`} onInput={e => setDay(e.target.value)} /></label>
      <label>at<input type="text" inputMode="numeric" size="5" value={time} id={`rr-${id}-time`} onInput={e => setTime(e.target.value)} /></label>
      <button type="button" class="bio-properties-panel-add-entry" id={`rr-${id}-apply`}
        onClick={() => { if (day && time) onSet(`day(${parseInt(day, 10)}, "${time}")`) }}>Use Day {day || 'N'} at {time}</button>
    </div>
  )
}

// What the expression gives on a sample case, worked out by the server with the real calendar.
function DatePreview ({ id, expression }) {
  const config = useConfig()
  const [text, setText] = useState('')
  useEffect(() => {
    if (!expression) { setText(''); return }
    let cancelled = false
    fetch(config.previewUrl + '?expression=' + encodeURIComponent(expression), { credentials: 'same-origin' })
      .then(r => r.json())
      .then(answer => { if (!cancelled) setText(answer.text) })
      .catch(() => { if (!cancelled) setText('The preview is not available.') })
    return () => { cancelled = true }
  }, [expression])
  if (!text) return null
  return <div class="app-rr-preview" data-preview={id} aria-live="polite">{text}</div>
}

function DueEntry ({ element }) {
  const injector = useService('injector')
  const debounce = useService('debounceInput')
  return TextFieldEntry({
    element,
    id: 'rr-due',
    label: 'Due',
    description: 'When the task is due, e.g. day(7, "17:00") for Day 7 at 17:00, or working_days_after(some_time, 2, "09:00").',
    debounce,
    getValue: () => getMetadata(element, 'due'),
    setValue: value => setMetadata(element, injector, 'due', value || '')
  })
}

function DueHelper ({ element }) {
  const injector = useService('injector')
  return <DayHelper id="due" value={getMetadata(element, 'due')} onSet={value => setMetadata(element, injector, 'due', value)} />
}

function DuePreview ({ element }) {
  return <DatePreview id="due" expression={getMetadata(element, 'due')} />
}

function TimerEntry ({ element }) {
  const injector = useService('injector')
  const debounce = useService('debounceInput')
  return TextFieldEntry({
    element,
    id: 'rr-timer',
    label: 'Fires at',
    description: 'A date and time: day(7, "17:00"), working_days_after(meeting_starts_at, 1, "09:00") or london_time("2026-06-01", "10:00").',
    debounce,
    getValue: () => getTimeDate(element),
    setValue: value => setTimeDate(element, injector, value || '')
  })
}

function TimerHelper ({ element }) {
  const injector = useService('injector')
  return <DayHelper id="timer" value={getTimeDate(element)} onSet={value => setTimeDate(element, injector, value)} />
}

function TimerPreview ({ element }) {
  return <DatePreview id="timer" expression={getTimeDate(element)} />
}

function OperatorEntry ({ element }) {
  const injector = useService('injector')
  const config = useConfig()
  return SelectEntry({
    element,
    id: 'rr-operator',
    label: 'Operator',
    description: 'What the step does: send an e-mail, invite to the meeting, or create a document.',
    getValue: () => getOperator(element),
    setValue: value => setOperator(element, injector, value),
    getOptions: () => {
      const current = getOperator(element)
      const known = Object.keys(config.operators)
      const options = [{ value: '', label: '(choose an operator)' }, ...known.map(name => ({ value: name, label: config.operators[name].label || name }))]
      if (current && !known.includes(current)) options.push({ value: current, label: `${current} (unknown)` })
      return options
    }
  })
}

function parameterEntry (name, required) {
  return function ParameterEntry ({ element }) {
    const injector = useService('injector')
    const debounce = useService('debounceInput')
    return TextFieldEntry({
      element,
      id: `rr-param-${name}`,
      label: `${name}${required ? '' : ' (optional)'}`,
      description: 'An expression: text needs quotes, e.g. \'information_sharing_reminder\'.',
      debounce,
      getValue: () => getParameter(element, name),
      setValue: value => setParameter(element, injector, name, value || '')
    })
  }
}

// Parameters whose value is one of a known set get a picker (see pickers.jsx); the others a text box.
const PICKERS = {
  template: required => choiceParameter('template', required, config => config.emailTemplates.map(name => ({ value: name, label: name })),
    "One of the version's e-mail templates (templates/email/)."),
  kind: required => choiceParameter('kind', required, config => config.documentKinds, 'The document to make.'),
  to: required => recipientsParameter('to', required),
  cc: required => recipientsParameter('cc', required),
  reply_to: required => recipientsParameter('reply_to', required)
}

// Made once per parameter: a new component type on every panel update would remount the entry, losing its
// state (the picker's "Other (expression)" mode) and the focus.
const parameterComponents = new Map()

function parameterComponent (name, required) {
  const key = `${name}:${required}`
  if (!parameterComponents.has(key)) parameterComponents.set(key, PICKERS[name] ? PICKERS[name](required) : parameterEntry(name, required))
  return parameterComponents.get(key)
}

function LaneRoleEntry ({ element }) {
  const modeling = useService('modeling')
  const config = useConfig()
  return SelectEntry({
    element,
    id: 'rr-lane-role',
    label: 'Role',
    description: 'Who does the tasks in this lane. The lane is named after the role.',
    getValue: () => getBusinessObject(element).get('name') || '',
    setValue: value => modeling.updateLabel(element, value),
    getOptions: () => {
      const current = getBusinessObject(element).get('name') || ''
      const options = config.lanes.map(lane => ({ value: lane.name, label: lane.name + (lane.role ? '' : ' (no person: the system)') }))
      if (!config.lanes.some(lane => lane.name === current)) options.unshift({ value: current, label: `${current || '(none)'}: not a role` })
      return options
    }
  })
}

function MultiInstanceNote ({ element }) {
  const loop = getBusinessObject(element).get('loopCharacteristics')
  if (!loop || !is(loop, 'bpmn:MultiInstanceLoopCharacteristics')) return null
  const input = loop.get('loopDataInputRef')
  const item = loop.get('inputDataItem')
  const inputName = input ? (input.id || input.name || input) : '(none)'
  const itemName = item ? (item.name || item.id) : '(none)'
  return (
    <p class="app-rr-note" data-note="multi-instance">
      Runs once for each item of <code>{String(inputName)}</code>, each run seeing its item as <code>{String(itemName)}</code>
      {loop.get('isSequential') ? ', one after another.' : ', all at once.'} See the process model's conventions before changing these.
    </p>
  )
}

export default function RapidReviewPropertiesProvider (propertiesPanel, injector) {
  const config = injector.get('config.rapidReview')

  this.getGroups = function (element) {
    return function (groups) {
      const add = (id, label, entries) => groups.splice(1, 0, { id, label, entries })
      if (is(element, 'bpmn:UserTask')) {
        add('rr-task', 'Task: form, instructions, due', [
          { id: 'rr-form', component: FormEntry, isEdited: isSelectEntryEdited },
          { id: 'rr-form-links', component: FormLinks },
          { id: 'rr-due', component: DueEntry, isEdited: isTextFieldEntryEdited },
          { id: 'rr-due-helper', component: DueHelper },
          { id: 'rr-due-preview', component: DuePreview },
          { id: 'rr-instructions', component: InstructionsEntry, isEdited: isTextAreaEntryEdited },
          { id: 'rr-instructions-preview', component: InstructionsPreview }
        ])
      }
      if (timerDefinition(element)) {
        add('rr-timer', 'Timer', [
          { id: 'rr-timer', component: TimerEntry, isEdited: isTextFieldEntryEdited },
          { id: 'rr-timer-helper', component: TimerHelper },
          { id: 'rr-timer-preview', component: TimerPreview }
        ])
      }
      if (is(element, 'bpmn:ServiceTask')) {
        const spec = config.operators[getOperator(element)]
        const entries = [{ id: 'rr-operator', component: OperatorEntry, isEdited: isSelectEntryEdited }]
        if (spec) {
          spec.required.forEach(name => entries.push({ id: `rr-param-${name}`, component: parameterComponent(name, true), isEdited: isTextFieldEntryEdited }))
          spec.optional.forEach(name => entries.push({ id: `rr-param-${name}`, component: parameterComponent(name, false), isEdited: isTextFieldEntryEdited }))
        }
        add('rr-service', 'Service: operator and parameters', entries)
      }
      if (is(element, 'bpmn:Lane')) {
        add('rr-lane', 'Lane: role', [{ id: 'rr-lane-role', component: LaneRoleEntry, isEdited: isSelectEntryEdited }])
      }
      if (getBusinessObject(element).get && getBusinessObject(element).get('loopCharacteristics')) {
        add('rr-multi', 'Repeats', [{ id: 'rr-multi', component: MultiInstanceNote }])
      }
      return groups
    }
  }
  propertiesPanel.registerProvider(400, this)
}

RapidReviewPropertiesProvider.$inject = ['propertiesPanel', 'injector']
