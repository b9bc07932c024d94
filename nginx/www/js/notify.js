// notify.js: telling the agent about new messages they are not looking at:
// desktop notifications (the Notification API) and a short sound (Web
// Audio, no file to fetch). Both are off until the agent turns them on with
// a click: browsers ignore a permission request, and keep audio silent,
// without one. The choice is kept in this browser (localStorage).

const NOTIFY = 'wa.notify', SOUND = 'wa.sound';

let audio = null;	// the AudioContext, made on the click that turns sound on
let lastBeep = 0;

export const notifySupported = () => 'Notification' in window;

export function notifyOn() {
	return notifySupported() && Notification.permission === 'granted' &&
	    localStorage.getItem(NOTIFY) === '1';
}

export const soundOn = () => localStorage.getItem(SOUND) === '1';

// The click on "Notifications": asks the browser the first time. Returns
// the state to show: 'on', 'off', 'blocked' (the user or the browser said
// no: only the site settings can change it) or 'unsupported'.
export async function toggleNotify() {
	if (!notifySupported())
		return 'unsupported';
	if (notifyOn()) {
		localStorage.removeItem(NOTIFY);
		return 'off';
	}
	let p = Notification.permission;
	if (p === 'default')
		p = await Notification.requestPermission();
	if (p !== 'granted')
		return 'blocked';
	localStorage.setItem(NOTIFY, '1');
	return 'on';
}

export function notifyState() {
	if (!notifySupported())
		return 'unsupported';
	if (Notification.permission === 'denied')
		return 'blocked';
	return notifyOn() ? 'on' : 'off';
}

// The click on "Sound": the AudioContext is created (or resumed) inside
// the click, so the browser lets it play later.
export function toggleSound() {
	if (soundOn()) {
		localStorage.removeItem(SOUND);
		return false;
	}
	localStorage.setItem(SOUND, '1');
	unlockAudio();
	return true;
}

function unlockAudio() {
	const Ctx = window.AudioContext || window.webkitAudioContext;
	if (!Ctx)
		return;
	if (!audio)
		audio = new Ctx();
	if (audio.state === 'suspended')
		audio.resume().catch(() => {});
}

// Two short tones; at most one every two seconds (a burst of messages, or
// a catch-up after a reconnect, is one sound).
function beep() {
	if (!audio || Date.now() - lastBeep < 2000)
		return;
	lastBeep = Date.now();
	const t = audio.currentTime;
	for (const [f, at] of [[880, 0], [1320, 0.12]]) {
		const osc = audio.createOscillator(), gain = audio.createGain();
		osc.frequency.value = f;
		gain.gain.setValueAtTime(0.0001, t + at);
		gain.gain.exponentialRampToValueAtTime(0.15, t + at + 0.02);
		gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.1);
		osc.connect(gain).connect(audio.destination);
		osc.start(t + at);
		osc.stop(t + at + 0.11);
	}
}

// A new incoming message the agent does not see. One notification per
// conversation at a time (tag): a newer one replaces it. onOpen(phone)
// runs when the notification is clicked.
export function announce({phone, title, body}, onOpen) {
	if (soundOn()) {
		if (!audio)
			unlockAudio();	// after a reload: works once the page had a click
		beep();
	}
	if (!notifyOn())
		return;
	try {
		const n = new Notification(title, {body, tag: 'wa:' + phone, renotify: true});
		n.onclick = () => {
			window.focus();
			n.close();
			onOpen(phone);
		};
	} catch (e) {
		// Some browsers (Android Chrome) only show them from a service
		// worker: nothing to show here, the sound and the badge remain.
	}
}
