// The server's problems on the diagram: a marker and an overlay with the message on each element.
const TYPE = 'rapid-review-problem'

export function clearProblems (modeler) {
  modeler.get('overlays').remove({ type: TYPE })
  modeler.get('elementRegistry').forEach(element => modeler.get('canvas').removeMarker(element, 'app-problem'))
}

export function showProblems (modeler, problems) {
  clearProblems(modeler)
  const registry = modeler.get('elementRegistry')
  const byElement = new Map()
  problems.forEach(problem => {
    if (!problem.element_id || !registry.get(problem.element_id)) return
    const list = byElement.get(problem.element_id) || []
    list.push(problem.message)
    byElement.set(problem.element_id, list)
  })
  byElement.forEach((messages, id) => {
    const element = registry.get(id)
    modeler.get('canvas').addMarker(element, 'app-problem')
    const box = document.createElement('div')
    box.className = 'app-problem-overlay'
    box.setAttribute('role', 'note')
    box.setAttribute('data-problem-for', id)
    const heading = document.createElement('strong')
    heading.textContent = messages.length === 1 ? 'Problem: ' : messages.length + ' problems: '
    box.appendChild(heading)
    box.appendChild(document.createTextNode(messages.join(' · ')))
    modeler.get('overlays').add(element, TYPE, { position: { bottom: -6, left: 0 }, html: box })
  })
}
