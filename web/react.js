// useTelephonySession(): the browser guide's React hook, on wvoice. The
// guide's readers switch by changing one import; the hook also returns
// communicationId and stats. React is the application's own dependency.
// playout ("adaptive", the default, or "fixed") and prebufferMs (the
// fixed playout's target; alone, it means fixed) are TelephonySession's
// options of those names (see wvoice.js).
//
//   import { useTelephonySession } from "wvoice-web/react.js";
//
//   const call = useTelephonySession({ wsBaseUrl, apiKey });
//   <button onClick={() => call.connect("support")}>Call</button>
import { useCallback, useEffect, useRef, useState } from "react";

import { TelephonySession } from "./wvoice.js";

export function useTelephonySession({
  wsBaseUrl,
  apiKey,
  from,
  metadataBase64,
  synthetic = false,
  onCommunicationId,
  playout,
  prebufferMs,
} = {}) {
  const [status, setStatus] = useState("idle");
  const [error, setError] = useState(null);
  const [elapsed, setElapsed] = useState(0);
  const [isMuted, setIsMutedState] = useState(false);
  const [communicationId, setCommunicationId] = useState(null);
  const [stats, setStats] = useState({});
  const sessionRef = useRef(null);
  const onIdRef = useRef(onCommunicationId);

  useEffect(() => {
    onIdRef.current = onCommunicationId;
  }, [onCommunicationId]);

  // A call does not outlive the component.
  useEffect(() => () => {
    if (sessionRef.current) sessionRef.current.hangup();
  }, []);

  const connect = useCallback(async (agentId) => {
    if (sessionRef.current) sessionRef.current.hangup();
    const s = new TelephonySession({
      url: wsBaseUrl, apiKey, from, metadataBase64, synthetic, playout,
      prebufferMs,
    });
    sessionRef.current = s;
    s.addEventListener("status", () => {
      setStatus(s.status);
      setIsMutedState(s.isMuted);
      if (s.communicationId !== null) {
        setCommunicationId((was) => {
          if (was !== s.communicationId && onIdRef.current)
            onIdRef.current(s.communicationId);
          return s.communicationId;
        });
      }
    });
    s.addEventListener("error", () => setError(s.error));
    s.addEventListener("tick", () => {
      setElapsed(s.elapsed);
      setStats(s.stats());
    });
    setError(null);
    setElapsed(0);
    setCommunicationId(null);
    await s.connect(agentId);
  }, [wsBaseUrl, apiKey, from, metadataBase64, synthetic, playout,
      prebufferMs]);

  const hangup = useCallback(() => {
    if (sessionRef.current) sessionRef.current.hangup();
  }, []);

  const sendDtmf = useCallback((digit) => {
    if (sessionRef.current) sessionRef.current.sendDtmf(digit);
  }, []);

  const setMuted = useCallback((muted) => {
    setIsMutedState(!!muted);
    if (sessionRef.current) sessionRef.current.setMuted(muted);
  }, []);

  return {
    status, error, elapsed, isMuted, connect, hangup, sendDtmf, setMuted,
    communicationId, stats,
  };
}
