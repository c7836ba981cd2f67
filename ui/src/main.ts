import { mount } from 'svelte';
import App from './App.svelte';
import { getLocale } from './lib/i18n/index.svelte';
import { currentRoute } from './lib/router.svelte';
import { prefetch } from './lib/session.svelte';
import { setTheme } from './lib/theme.svelte';
import './app.css';

prefetch(currentRoute().screen);
document.documentElement.lang = getLocale();
// Follow the OS until the stored settings arrive, so the first paint is already right.
setTheme('system');

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks #app');

export default mount(App, { target });
