// The form editor's live preview: as the owner types, the server checks the form and draws it with the
// GOV.UK components people will see (the same code as the task pages), and the preview is replaced.
(function () {
  var form = document.querySelector('[data-module="app-form-editor"]')
  if (!form) return
  var preview = document.getElementById('form-preview')
  var token = form.querySelector('input[name="csrf_token"]').value
  var timer = null
  function refresh () {
    fetch(form.getAttribute('data-preview-url'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token },
      body: JSON.stringify({ name: form.form_name.value, schema: form.schema.value, uischema: form.uischema.value })
    }).then(function (r) { return r.json() }).then(function (answer) {
      if (answer.html) {
        preview.innerHTML = answer.html
      } else {
        preview.textContent = 'The preview cannot be drawn: ' + answer.problems.join('; ')
      }
      preview.setAttribute('data-checked', String(Date.now()))
    }).catch(function () { preview.textContent = 'The preview is not available just now.' })
  }
  form.addEventListener('input', function () {
    clearTimeout(timer)
    timer = setTimeout(refresh, 400)
  })
})()
