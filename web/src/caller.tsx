/** The signed-in caller, available to every page. */
import { createContext, useContext } from 'react';
import type { Caller } from './session';

export const CallerContext = createContext<Caller | undefined>(undefined);

/** The caller (pages are only rendered once signed in). */
export function useCaller(): Caller {
  const c = useContext(CallerContext);
  if (!c) throw new Error('useCaller outside a signed-in page');
  return c;
}
