// Draws the case's process diagrams with bpmn-js and marks done, active and waiting elements.
(function () {
  var holder = document.getElementById('diagrams')
  var source = document.getElementById('diagram-data')
  if (!holder || !source || !window.BpmnJS) return
  var data = JSON.parse(source.textContent)
  var BADGES = { done: 'Done', active: 'Now', waiting: 'Timer' }
  holder.innerHTML = ''
  Object.keys(data.files).sort().forEach(function (name) {
    // A figure holding an image (the drawing, role="img" with a short name) and the buttons that pan and zoom
    // it: the facts themselves are in the table of steps, which a screen reader reads instead.
    var figure = document.createElement('figure')
    figure.className = 'govuk-!-margin-0'
    var caption = document.createElement('figcaption')
    caption.className = 'govuk-heading-s'
    caption.textContent = 'Process diagram: ' + name + ' (the table of steps below gives the same facts as text)'
    var box = document.createElement('div')
    box.className = 'app-diagram'
    // Buttons as well as the mouse wheel: people who use a keyboard or a phone can zoom and fit too.
    var tools = document.createElement('div')
    tools.className = 'govuk-button-group app-diagram__tools'
    figure.appendChild(caption)
    figure.appendChild(tools)
    figure.appendChild(box)
    holder.appendChild(figure)
    var viewer = new window.BpmnJS({ container: box })
    viewer.importXML(data.files[name]).then(function () {
      var canvas = viewer.get('canvas')
      var registry = viewer.get('elementRegistry')
      var states = data.states[name] || {}
      var overlays = viewer.get('overlays')
      Object.keys(states).forEach(function (id) {
        if (!registry.get(id)) return
        canvas.addMarker(id, 'app-' + states[id])
        // Colour is never the only cue: each marked step also carries a word (WCAG 1.4.1).
        var badge = document.createElement('span')
        badge.className = 'app-diagram-badge app-diagram-badge--' + states[id]
        badge.textContent = BADGES[states[id]] || states[id]
        overlays.add(id, { position: { top: -12, left: -6 }, html: badge })
      })
      var svg = box.querySelector('svg')
      if (svg) {
        svg.setAttribute('role', 'img')
        svg.setAttribute('aria-label', 'Process diagram: ' + name + '. The table of steps below gives the same facts.')
      }
      // The drawing itself takes no focus: the buttons below pan and zoom it from the keyboard.
      box.querySelectorAll('[tabindex]').forEach(function (el) { el.setAttribute('tabindex', '-1') })
      canvas.zoom('fit-viewport')
      ;[['Zoom in', function () { canvas.zoom(canvas.zoom() * 1.25) }],
        ['Zoom out', function () { canvas.zoom(canvas.zoom() / 1.25) }],
        ['Fit to the box', function () { canvas.zoom('fit-viewport') }],
        ['Move left', function () { canvas.scroll({ dx: 120, dy: 0 }) }],
        ['Move right', function () { canvas.scroll({ dx: -120, dy: 0 }) }],
        ['Move up', function () { canvas.scroll({ dx: 0, dy: 120 }) }],
        ['Move down', function () { canvas.scroll({ dx: 0, dy: -120 }) }]].forEach(function (tool) {
        var button = document.createElement('button')
        button.type = 'button'
        button.className = 'govuk-button govuk-button--secondary govuk-!-margin-bottom-2'
        button.textContent = tool[0]
        button.setAttribute('aria-label', tool[0] + ': ' + name)
        button.addEventListener('click', tool[1])
        tools.appendChild(button)
      })
      holder.setAttribute('data-rendered', 'true')
    }).catch(function (err) {
      box.textContent = 'The diagram could not be drawn: ' + err.message
    })
  })
})()
