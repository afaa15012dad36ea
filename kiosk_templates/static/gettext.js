// gettext.js - the page's texts for the JS modules, as the server embedded them for the
// page's language (<script type="application/json" id="texts">): each message the modules
// use with its translation, a plural with its forms by CLDR category. The source texts are
// German; a message the page lacks shows as written.

const embedded = JSON.parse(document.getElementById("texts")?.textContent || "{}");
const messages = embedded.messages || {};
const lang = document.documentElement.lang || "de";
// The language's CLDR plural rule, from the browser (no eval: the CSP forbids it).
const rules = new Intl.PluralRules(lang);

const fill = (text, params) => {
  for (const [k, v] of Object.entries(params)) text = text.replace(`{${k}}`, v);
  return text;
};

export const gettext = (message, params = {}) => fill(messages[message] ?? message, params);

export const pgettext = (context, message, params = {}) =>
  fill(messages[`${context}\u0004${message}`] ?? message, params);

export function ngettext(singular, plural, n, params = {}) {
  const forms = messages[singular];
  const text = forms ? forms[rules.select(n)] ?? forms.other : n === 1 ? singular : plural;
  return fill(text, { n, ...params });
}

// Monday first: "Mo" / "Mon", as the server writes them.
export const weekdays = embedded.weekdays || [];
