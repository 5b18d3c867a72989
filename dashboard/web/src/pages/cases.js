// Owner outreach in the officer workspace: the signed-in officer's due actions, the cases with
// filters and a selection for letters (one PDF to print), and a case with its state, its
// contacts and the history of every change (who and when).
import contactsSchema from '../../../../schemas/owner_contacts.json';
import { get, send, sendForFile } from '../api.js';
import { download, esc, setParams, table } from '../dom.js';
import { current, dateTime, named, number, t } from '../i18n.js';

const enumOf = (name) => contactsSchema.fields.find((f) => f.name === name)?.constraints?.enum ?? [];
const word = (v) => (v ? named('enum', v, String(v).replace(/_/g, ' ')) : '–');
const caseLink = (id, text) => `<a href="#/officer?tab=cases&case=${encodeURIComponent(id)}">${esc(text ?? id)}</a>`;
const today = () => new Date().toISOString().slice(0, 10);

/** A letter form for the properties `ids()` gives, into `box`. */
export async function letterForm(box, ids, prefix = 'letters') {
  const templates = await get('/api/v1/officer/letters', { officer: true });
  box.innerHTML = `
    <form id="${prefix}-form" class="controls">
      <div class="field"><label for="${prefix}-template">${esc(t('letter_template'))}</label>
        <select id="${prefix}-template">${templates.map((x) => `<option value="${esc(x.name)}">${esc(named('letter', x.name, x.name))}</option>`).join('')}</select></div>
      <div class="field"><label for="${prefix}-lang">${esc(t('letter_language'))}</label>
        <select id="${prefix}-lang">${['en', 'nl'].map((l) => `<option value="${l}"${l === current() ? ' selected' : ''}>${esc(named('language', l, l))}</option>`).join('')}</select></div>
      <div class="field checkbox"><input id="${prefix}-record" type="checkbox"><label for="${prefix}-record">${esc(t('letter_record'))}</label></div>
      <div class="field"><button type="submit" class="primary">${esc(t('letter_download'))}</button></div>
    </form>
    <p id="${prefix}-status" role="status"></p>`;
  box.querySelector(`#${prefix}-form`).addEventListener('submit', async (e) => {
    e.preventDefault();
    const status = box.querySelector(`#${prefix}-status`);
    const chosen = ids();
    if (!chosen.length) {
      status.textContent = t('letter_none');
      return;
    }
    const template = box.querySelector(`#${prefix}-template`).value;
    status.textContent = t('letter_writing', { n: number(chosen.length) });
    try {
      const pdf = await sendForFile('/api/v1/officer/letters', {
        property_ids: chosen,
        template,
        lang: box.querySelector(`#${prefix}-lang`).value,
        record: box.querySelector(`#${prefix}-record`).checked,
      });
      download(`letters-${template}.pdf`, 'application/pdf', pdf);
      status.textContent = t('letter_done', { n: number(chosen.length) });
    } catch (err) {
      status.innerHTML = `<span class="error" role="alert">${esc(err.message)}</span>`;
    }
  });
}

export async function render(box, params, ctx) {
  const id = params.get('case');
  if (id) return caseView(box, id, ctx);
  const f = {
    officer: params.get('officer') ?? '',
    owner_answer: ['none', ...enumOf('owner_answer')].includes(params.get('owner_answer')) ? params.get('owner_answer') : '',
  };
  const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v));
  const [due, list] = await Promise.all([get('/api/v1/officer/due-actions', { officer: true }), get(`/api/v1/officer/cases?${q}`, { officer: true })]);
  if (ctx.stale()) return undefined;
  const answers = [['none', t('answer_none')], ...enumOf('owner_answer').map((a) => [a, word(a)])];
  box.innerHTML = `
    <section><h2>${esc(t('due_title'))}</h2>${
      due.length
        ? table({
            caption: t('due_title'),
            head: [t('address'), t('next_action'), t('due'), t('owner_answer')],
            rows: due.map((c) => [
              caseLink(c.property_id, c.address ?? c.property_id),
              esc(c.next_action),
              `${esc(c.next_action_due)}${c.overdue ? ` <strong class="overdue">${esc(t('overdue'))}</strong>` : ''}`,
              esc(word(c.owner_answer)),
            ]),
          })
        : `<p class="muted">${esc(t('due_none'))}</p>`
    }</section>
    <section><h2>${esc(t('cases_title'))}</h2>
      <form class="controls" id="case-filters">
        <div class="field"><label for="c-officer">${esc(t('officer'))}</label><input id="c-officer" name="officer" type="text" value="${esc(f.officer)}" autocomplete="off"></div>
        <div class="field"><label for="c-owner_answer">${esc(t('owner_answer'))}</label><select id="c-owner_answer" name="owner_answer"><option value="">${esc(t('any'))}</option>${answers
          .map(([v, text]) => `<option value="${v}"${f.owner_answer === v ? ' selected' : ''}>${esc(text)}</option>`)
          .join('')}</select></div>
      </form>
      <p role="status">${esc(t('cases_found', { n: number(list.length) }))}</p>
      <div class="table-wrap" tabindex="0" role="region" aria-label="${esc(t('cases_title'))}"><table id="cases"><caption>${esc(t('cases_title'))}</caption>
        <thead><tr><th scope="col"><input type="checkbox" id="select-all" aria-label="${esc(t('select_all'))}"></th><th scope="col">${esc(t('address'))}</th><th scope="col">${esc(t('officer'))}</th><th scope="col">${esc(t('owner_answer'))}</th><th scope="col">${esc(t('next_action'))}</th><th scope="col">${esc(t('due'))}</th><th scope="col">${esc(t('contacts'))}</th></tr></thead>
        <tbody>${list
          .map(
            (c) => `<tr><td><input type="checkbox" class="pick" value="${esc(c.property_id)}" aria-label="${esc(t('select_property', { what: c.address ?? c.property_id }))}"></td>
              <th scope="row">${caseLink(c.property_id, c.address ?? c.property_id)}</th><td>${esc(c.officer ?? '–')}</td><td>${esc(word(c.owner_answer))}</td>
              <td>${esc(c.next_action ?? '–')}</td><td>${esc(c.next_action_due ?? '–')}${c.overdue ? ` <strong class="overdue">${esc(t('overdue'))}</strong>` : ''}</td><td>${esc(number(c.contacts))}</td></tr>`,
          )
          .join('')}</tbody></table></div>
    </section>
    <section><h2>${esc(t('letters_title'))}</h2><p>${esc(t('letters_lead'))}</p><div id="letters"></div></section>`;
  box.querySelector('#case-filters').addEventListener('change', (e) => {
    const el = e.target.id;
    setParams({ [e.target.name]: e.target.value });
    ctx.rerender().then(() => document.getElementById(el)?.focus());
  });
  box.querySelector('#select-all').addEventListener('change', (e) => {
    for (const c of box.querySelectorAll('#cases .pick')) c.checked = e.target.checked;
  });
  await letterForm(box.querySelector('#letters'), () => [...box.querySelectorAll('#cases .pick:checked')].map((c) => c.value));
  return undefined;
}

async function caseView(box, id, ctx) {
  const c = await get(`/api/v1/officer/cases/${encodeURIComponent(id)}`, { officer: true });
  if (ctx.stale()) return undefined;
  const option = (values, chosen, empty) =>
    `<option value="">${esc(empty)}</option>${values.map((v) => `<option value="${v}"${v === chosen ? ' selected' : ''}>${esc(word(v))}</option>`).join('')}`;
  box.innerHTML = `
    <p><a href="#/officer?tab=cases">${esc(t('cases_back'))}</a></p>
    <h2>${esc(c.address ?? c.property_id)} <span class="muted">${esc(c.property_id)}</span></h2>
    <p>${esc(t('filter_status'))}: ${esc(word(c.status))}${c.source === 'import' ? ` · ${esc(t('case_from_import'))}` : ''}</p>
    <form id="case-state" class="controls">
      <div class="field"><label for="s-officer">${esc(t('officer'))}</label><input id="s-officer" type="text" value="${esc(c.officer ?? '')}" autocomplete="off"></div>
      <div class="field"><label for="s-answer">${esc(t('owner_answer'))}</label><select id="s-answer">${option(enumOf('owner_answer'), c.owner_answer, t('answer_none'))}</select></div>
      <div class="field"><label for="s-action">${esc(t('next_action'))}</label><input id="s-action" type="text" maxlength="200" value="${esc(c.next_action ?? '')}"></div>
      <div class="field"><label for="s-due">${esc(t('due'))}</label><input id="s-due" type="date" value="${esc(c.next_action_due ?? '')}"></div>
      <div class="field"><button type="submit" class="primary">${esc(t('save'))}</button></div>
    </form>
    <p id="case-status" role="status"></p>
    <section><h3>${esc(t('contact_add'))}</h3>
    <form id="contact" class="controls">
      <div class="field"><label for="k-date">${esc(t('contact_date'))}</label><input id="k-date" type="date" max="${today()}" value="${today()}" required></div>
      <div class="field"><label for="k-channel">${esc(t('channel'))}</label><select id="k-channel" required>${enumOf('channel').map((v) => `<option value="${v}">${esc(word(v))}</option>`).join('')}</select></div>
      <div class="field"><label for="k-outcome">${esc(t('outcome'))}</label><select id="k-outcome" required>${enumOf('outcome').map((v) => `<option value="${v}">${esc(word(v))}</option>`).join('')}</select></div>
      <div class="field"><label for="k-note">${esc(t('note'))}</label><input id="k-note" type="text" maxlength="500"></div>
      <div class="field"><button type="submit">${esc(t('contact_record'))}</button></div>
    </form></section>
    <section><h3>${esc(t('contacts'))}</h3>${
      c.contacts_list.length
        ? table({
            caption: t('contacts'),
            head: [t('contact_date'), t('channel'), t('outcome'), t('owner_answer'), t('by'), t('source')],
            rows: c.contacts_list.map((k) => [
              esc(k.contact_date),
              `${esc(word(k.channel))}${k.letter ? ` (${esc(named('letter', k.letter, k.letter))})` : ''}`,
              esc(word(k.outcome)),
              esc(word(k.owner_answer)),
              esc(k.by ?? '–'),
              esc(k.source === 'import' ? t('source_import', { batch: k.batch_id }) : t('source_workspace')),
            ]),
          })
        : `<p class="muted">${esc(t('contacts_none'))}</p>`
    }</section>
    <section><h3>${esc(t('history'))}</h3>${
      c.history.length
        ? table({
            caption: t('history'),
            head: [t('when'), t('who'), t('what'), t('from'), t('to')],
            rows: c.history.map((h) => [esc(dateTime(h.at)), esc(h.actor), esc(t(`field_${h.field}`)), esc(h.old_value ?? '–'), esc(h.new_value ?? '–')]),
            className: 'history',
          })
        : `<p class="muted">${esc(t('history_none'))}</p>`
    }</section>
    <section><h3>${esc(t('letters_title'))}</h3><div id="case-letters"></div></section>`;
  const status = box.querySelector('#case-status');
  const after = async (p) => {
    try {
      await p;
      await ctx.rerender();
      document.getElementById('case-status').textContent = t('saved');
    } catch (err) {
      status.innerHTML = `<span class="error" role="alert">${esc(err.message)}</span>`;
    }
  };
  box.querySelector('#case-state').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = (sel) => box.querySelector(sel).value.trim() || null;
    after(send(`/api/v1/officer/cases/${encodeURIComponent(id)}`, 'PATCH', { officer: v('#s-officer'), owner_answer: v('#s-answer'), next_action: v('#s-action'), next_action_due: v('#s-due') }));
  });
  box.querySelector('#contact').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = (sel) => box.querySelector(sel).value.trim() || null;
    after(
      send(`/api/v1/officer/cases/${encodeURIComponent(id)}/contacts`, 'POST', {
        contact_date: v('#k-date'),
        channel: v('#k-channel'),
        outcome: v('#k-outcome'),
        note: v('#k-note'),
      }),
    );
  });
  await letterForm(box.querySelector('#case-letters'), () => [id], 'case-letters');
  return undefined;
}
