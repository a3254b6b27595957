using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Qwen.Serving.Http;

/// <summary>Who is calling, as far as isolation goes: a hash of the presented API key, never the key itself.</summary>
/// <remarks>
/// Two uses: the prefix-cache scope of a generation (key + OpenAI <c>user</c>, so callers sharing a key can still be
/// kept apart by sending <c>user</c>), and the owner of a chat session or agent run (key only). Hashes are salted
/// with a purpose string so a session owner id cannot be replayed as a cache scope, and are safe to store and log.
/// A keyless loopback caller (standalone server without a key) is one anonymous identity.
/// </remarks>
public static class CallerIdentity
{
    /// <summary>The owner id of sessions and agent runs started by this caller.</summary>
    public static string Owner(HttpContext context) => Hash("owner", ApiKeyAuthorizer.PresentedKey(context.Request), null);

    /// <summary>The prefix-cache scope of this caller's generations (<see cref="Qwen.Inference.Generation.GenerationRequest.CacheScope"/>).</summary>
    public static string CacheScope(HttpContext context, string? user) => Hash("cache", ApiKeyAuthorizer.PresentedKey(context.Request), user);

    private static string Hash(string purpose, string? key, string? user)
    {
        // Length-prefixed parts: ("ab", "c") and ("a", "bc") must not collide.
        var text = $"{purpose.Length}:{purpose}{(key ?? "").Length}:{key}{(user ?? "").Length}:{user}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));
    }
}
