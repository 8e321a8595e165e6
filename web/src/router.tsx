/**
 * A small router over the History API: pages live under /ui/ (the server answers index.html for
 * any of them), links change the URL without a reload.
 */
import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';

export const BASE = '/ui';

/** Goes to an app path such as `/volumes/vol_…`. */
export function navigate(to: string): void {
  window.history.pushState(null, '', BASE + to);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The app path now shown (without /ui), re-rendering on navigation. */
export function useRoute(): string {
  const read = () => window.location.pathname.replace(/^\/ui/, '') || '/';
  const [path, setPath] = useState(read);
  useEffect(() => {
    const on = () => setPath(read());
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  return path;
}

/** A link inside the app: a real <a href> (keyboard, new tab), handled without a reload. */
export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={BASE + to} onClick={click} className={className}>
      {children}
    </a>
  );
}
