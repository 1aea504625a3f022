// npm jose as the independent JOSE implementation for test_attestd.sh.
//   decrypt KEY.pem JWE.json            -> the plaintext on stdout
//   verify-token TOKEN_FILE JWKS_URL ISS -> the verified claims (JSON) on stdout
//   admin-token KEY.pem ALG EXP_OFFSET  -> a compact JWT {iat, exp: now+EXP_OFFSET}
// NPM_DIR names the folder where `jose` is installed.
const { createRequire } = require('module');
const fs = require('fs');
const jose = createRequire(process.env.NPM_DIR + '/')('jose');

async function main() {
  const [cmd, a, b, c] = process.argv.slice(2);
  if (cmd === 'decrypt') {
    const jwe = JSON.parse(fs.readFileSync(b, 'utf8'));
    const hdr = JSON.parse(Buffer.from(jwe.protected, 'base64url').toString());
    const key = await jose.importPKCS8(fs.readFileSync(a, 'utf8'), hdr.alg);
    const { plaintext } = await jose.flattenedDecrypt(jwe, key);
    process.stdout.write(Buffer.from(plaintext));
  } else if (cmd === 'verify-token') {
    const token = fs.readFileSync(a, 'utf8').trim();
    const jwks = jose.createRemoteJWKSet(new URL(b));
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, { issuer: c });
    process.stdout.write(JSON.stringify({ header: protectedHeader, payload }));
  } else if (cmd === 'admin-token') {
    const key = await jose.importPKCS8(fs.readFileSync(a, 'utf8'), b);
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new jose.SignJWT({ sub: 'operator' })
      .setProtectedHeader({ alg: b, typ: 'JWT' })
      .setIssuedAt(now - 10)
      .setExpirationTime(now + Number(c))
      .sign(key);
    process.stdout.write(jwt);
  } else {
    throw new Error('unknown command ' + cmd);
  }
}
main().catch((e) => { console.error('attestd_jose: ' + e.message); process.exit(1); });
