/**
 * A button for a destructive action that asks once more in the page before acting. Not
 * window.confirm: a native dialog blocks the page and cannot be styled or translated with it.
 */
import { useState } from 'react';
import { useI18n } from '../i18n/i18n';

/** Props: the button's words, the question asked, and what to do on a yes. */
export interface ConfirmButtonProps {
  label: string;
  question: string;
  onConfirm: () => void;
  disabled?: boolean;
}

/** The button, then the question with a yes and a no. */
export function ConfirmButton({ label, question, onConfirm, disabled }: ConfirmButtonProps) {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" className="danger" disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span>{question}</span>{' '}
      <button
        type="button"
        className="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {t('confirmYes', { action: label })}
      </button>{' '}
      <button type="button" className="secondary" onClick={() => setAsking(false)}>
        {t('confirmNo')}
      </button>
    </span>
  );
}
