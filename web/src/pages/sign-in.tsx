/** Sign-in with a pasted bearer token (a sign-in link skips this page). */
import { useState, type FormEvent } from 'react';
import { useI18n } from '../i18n/i18n';
import { signIn, type Caller } from '../session';

/** The form; `message` says why the user is here (an expired session). */
export function SignIn({ message, onSignedIn }: { message: string | undefined; onSignedIn: (c: Caller) => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const c = signIn(token);
    if (c) onSignedIn(c);
    else setError(t('badToken'));
  };
  return (
    <section className="signin">
      <h1>{t('signInTitle')}</h1>
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
      <p>{t('signInHelp')}</p>
      <form onSubmit={submit} className="form">
        <label>
          {t('tokenLabel')}
          <textarea name="token" required autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit">{t('signInButton')}</button>
      </form>
    </section>
  );
}
