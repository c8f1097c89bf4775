// Generates segments_oracle.json from Twilio's own segment calculator, the
// npm package sms-segments-calculator (default options: encoding "auto", no
// smart encoding). The Go tests only read the JSON; this script is kept so the
// cases can be regenerated or extended:
//
//   mkdir -p /tmp/segcalc && cd /tmp/segcalc && npm init -y && npm install sms-segments-calculator@1.3.0
//   cd /tmp/segcalc && node /path/to/channels/testdata/oracle.js > /path/to/channels/testdata/segments_oracle.json
//
// The package is resolved from the current directory, so run it where it is
// installed. "units" is the calculator's message size without headers, in
// septets (GSM-7) or UTF-16 code units (UCS-2).
//
// Cases are left out where the calculator and CountSegments differ on
// purpose; segments_test.go covers those by hand:
//   - a grapheme cluster longer than a whole segment (the calculator
//     overfills one segment with it, CountSegments splits it between code
//     points);
//   - emoji ZWJ sequences newer than the calculator's grapheme-splitter
//     (Unicode 10 era), such as ❤️‍🔥 or 🧑‍🤝‍🧑, which it cuts apart and
//     uniseg keeps whole.
'use strict';

const { SegmentedMessage } = require(require.resolve('sms-segments-calculator', { paths: [process.cwd()] }));

const rep = (s, n) => s.repeat(n);
const cases = [];
const add = (name, text) => cases.push({ name, text });

// Empty and tiny.
add('empty', '');
add('one letter', 'a');
add('space only', ' ');

// GSM-7 boundaries: 160 single, 153 per part.
for (const n of [153, 154, 159, 160, 161, 305, 306, 307, 459, 460, 1530, 1531, 1600]) {
  add(`a x${n}`, rep('a', n));
}

// Extension characters cost two septets and never split.
for (const n of [79, 80, 81, 153, 154]) {
  add(`euro x${n}`, rep('€', n));
}
const ext = { euro: '€', caret: '^', lbrace: '{', rbrace: '}', lbracket: '[', rbracket: ']', tilde: '~', pipe: '|', backslash: '\\', formfeed: '\f' };
for (const [name, ch] of Object.entries(ext)) {
  add(`a x152 + ${name} + a x152`, rep('a', 152) + ch + rep('a', 152));
  add(`a x151 + ${name} + a x153`, rep('a', 151) + ch + rep('a', 153));
  add(`a x158 + ${name}`, rep('a', 158) + ch);
  add(`a x159 + ${name}`, rep('a', 159) + ch);
}
add('all extension chars', '\f^{}\\[~]|€');
add('basic table', '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà');
add('basic table x2', rep('@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà', 2));

// Characters outside GSM 03.38 switch the whole message to UCS-2.
add('capital C cedilla is GSM', 'Ça va');
add('small c cedilla is not GSM', 'ça va');
for (const ch of ['á', 'í', 'ó', 'ú', 'â', 'ê', 'î', 'ô', 'û', 'ç', 'ş', 'ğ', 'ı', 'ŋ', 'ɓ', 'ɗ', 'ƙ', 'ƴ', 'ë', 'œ']) {
  add(`accented ${ch}`, `Salut ${ch}`);
}
add('backtick', 'say `hi`');
add('curly quotes', '“Stay safe” – it’s free');
add('tab', 'a\tb');
add('literal ESC', 'a\x1bb');
add('no-break space', 'a\u00a0b');
add('decomposed e acute', 'Cafe\u0301');
add('Spanish', '¿Necesitas ayuda? Llama gratis, es confidencial. Nadie sabrá que llamaste.');
add('Turkish', 'Yardıma mı ihtiyacınız var? Ücretsiz arayın, görüşme gizlidir. Şimdi arayın ya da ğ yazın.');
add('French', 'Besoin d’aide ? Appelez gratuitement, c’est confidentiel. Où êtes-vous ?');
add('a x159 + c cedilla', rep('a', 159) + 'ç');
add('a x69 + c cedilla', rep('a', 69) + 'ç');
add('a x70 + c cedilla', rep('a', 70) + 'ç');
add('euro in UCS-2 costs one unit', rep('€', 69) + 'ж');

// UCS-2 boundaries: 70 single, 67 per part.
for (const n of [66, 67, 68, 69, 70, 71, 133, 134, 135, 201, 202]) {
  add(`zhe x${n}`, rep('ж', n));
}

// Surrogate pairs.
for (const n of [33, 34, 35, 36, 67, 68]) {
  add(`grinning x${n}`, rep('😀', n));
}
add('zhe x66 + grinning + zhe x66', rep('ж', 66) + '😀' + rep('ж', 66));
add('zhe x67 + grinning + zhe x66', rep('ж', 67) + '😀' + rep('ж', 66));
add('zhe x65 + grinning + zhe x66', rep('ж', 65) + '😀' + rep('ж', 66));
add('a x159 + grinning', rep('a', 159) + '😀');
add('a x68 + grinning', rep('a', 68) + '😀');
add('a x69 + grinning', rep('a', 69) + '😀');
add('a x66 + grinning + a x66', rep('a', 66) + '😀' + rep('a', 66));

// Emoji sequences at a segment edge.
const seqs = {
  'woman technologist ZWJ': '👩‍💻',
  'family ZWJ': '👨‍👩‍👧‍👦',
  'rainbow flag ZWJ': '🏳️‍🌈',
  'flag ET': '🇪🇹',
  'flag MM': '🇲🇲',
  'thumbs up medium skin': '👍🏽',
  'keycap one': '1️⃣',
  'heart with VS16': '❤️',
};
for (const [name, seq] of Object.entries(seqs)) {
  const units = seq.length;
  add(`${name} alone`, seq);
  add(`${name} x20`, rep(seq, 20));
  for (const before of new Set([67 - units - 1, 67 - units, 67 - units + 1, 67 - 1])) {
    add(`zhe x${before} + ${name} + zhe x67`, rep('ж', before) + seq + rep('ж', 67));
  }
}
add('flags run', rep('🇪🇹🇪🇷🇸🇴🇸🇩🇱🇾🇲🇲🇹🇭🇰🇭', 5));

// Indic and other complex scripts: clusters of several UTF-16 units.
const ksse = 'क्षे';
for (const n of [17, 18, 33, 34, 50, 51]) {
  add(`Devanagari ksse x${n}`, rep(ksse, n));
}
add('Devanagari ksse x33 + k virama', rep(ksse, 33) + 'क्');
add('Devanagari ksse x16 + k virama', rep(ksse, 16) + 'क्');
add('Nepali word', 'नेपाली');
add('Nepali', 'सहयोग चाहिन्छ? निःशुल्क फोन गर्नुहोस्। तपाईंको कुरा गोप्य रहनेछ। कसैले थाहा पाउने छैन।');
add('Hindi', 'क्या आपको मदद चाहिए? मुफ़्त कॉल करें। आपकी बातचीत पूरी तरह गोपनीय रहेगी और किसी को पता नहीं चलेगा।');
add('Bengali', 'আপনার কি সাহায্য দরকার? বিনামূল্যে ফোন করুন। আপনার কথা গোপন থাকবে। ক্ষমা, স্ত্রী, জ্ঞান।');
add('Sinhala', 'ඔබට උදව් අවශ්‍යද? නොමිලේ අමතන්න. ඔබේ කතාව රහසිගතව තබා ගනු ලැබේ.');
add('Amharic', 'እርዳታ ይፈልጋሉ? በነፃ ይደውሉ። ንግግርዎ ሚስጥራዊ ነው። ማንም አያውቅም። ሥራ ቃል ቢሰጡዎ ፓስፖርትዎን አይስጡ።');
add('Tigrinya', 'ሓገዝ ትደሊ ዶ? ብነጻ ደውል። ዘረባኻ ምስጢራዊ እዩ። ሓደ እኳ ኣይፈልጥን እዩ።');
add('Arabic', 'هل تحتاج إلى مساعدة؟ اتصل مجانًا. محادثتك سرية تمامًا ولن يعرف أحد أنك اتصلت.');
add('Arabic with harakat', 'بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ');
add('Dari', 'آیا به کمک نیاز دارید؟ به‌طور رایگان زنگ بزنید. گفتگوی شما محرمانه است و هیچ‌کس نمی‌فهمد.');
add('Persian', 'به کمک نیاز داری؟ رایگان تماس بگیر. هیچ‌کس متوجه نمی‌شود.');
add('Pashto', 'ایا مرستې ته اړتیا لرئ؟ وړیا زنګ ووهئ. ستاسو خبرې پټې ساتل کیږي.');
add('Urdu', 'کیا آپ کو مدد چاہیے؟ مفت کال کریں۔ آپ کی بات خفیہ رہے گی۔');
add('Burmese', 'အကူအညီ လိုအပ်ပါသလား။ အခမဲ့ ဖုန်းဆက်ပါ။ သင့်စကားကို လျှို့ဝှက်ထားပါမည်။');
add('Thai', 'ต้องการความช่วยเหลือไหม? โทรฟรี การสนทนาของคุณเป็นความลับ ไม่มีใครรู้ว่าคุณโทรมา');
add('Khmer', 'តើអ្នកត្រូវការជំនួយទេ? ហៅដោយឥតគិតថ្លៃ។ ការសន្ទនារបស់អ្នកគឺជាការសម្ងាត់។');
add('Lao', 'ທ່ານຕ້ອງການຄວາມຊ່ວຍເຫຼືອບໍ? ໂທຟຣີ. ການສົນທະນາຂອງທ່ານເປັນຄວາມລັບ.');
add('Hausa', 'Kuna buƙatar taimako? Ku kira kyauta. Ɗan uwa, ɓoye.');
add('Somali', 'Ma u baahan tahay caawimaad? Si bilaash ah u wac. Wadahadalkaagu waa qarsoodi.');
add('Russian', 'Нужна помощь? Звоните бесплатно. Разговор конфиденциален.');
for (const [name, text] of [['Amharic', 'እርዳታ ይፈልጋሉ? በነፃ ይደውሉ። '], ['Burmese', 'လျှို့ဝှက် ဖုန်းဆက်ပါ။ '], ['Thai', 'ไม่มีใครรู้ที่นี่ '], ['Khmer', 'សម្ងាត់ ស្ត្រី '], ['Bengali', 'ক্ষমা স্ত্রী জ্ঞান '], ['Arabic', 'اتصل مجانًا. '], ['Dari', 'هیچ‌کس نمی‌فهمد. ']]) {
  add(`${name} x10`, rep(text, 10));
}

// Line breaks: the calculator counts CR LF as two characters.
add('LF', 'line one\nline two');
add('CRLF', 'line one\r\nline two');
add('trailing LF', 'Call us.\n');
add('trailing CRLF', 'Call us.\r\n');
add('only LF', '\n');
add('only CRLF', '\r\n');
add('a x159 + LF', rep('a', 159) + '\n');
add('a x159 + CRLF', rep('a', 159) + '\r\n');
add('a x152 + CRLF + a x10', rep('a', 152) + '\r\n' + rep('a', 10));
add('zhe x66 + CRLF + zhe x10', rep('ж', 66) + '\r\n' + rep('ж', 10));
add('zhe x69 + LF', rep('ж', 69) + '\n');
add('zhe x69 + CRLF', rep('ж', 69) + '\r\n');
add('Amharic lines CRLF', 'እርዳታ\r\nይፈልጋሉ?\r\n');

const out = cases.map(({ name, text }) => {
  const m = new SegmentedMessage(text);
  const bitsPerUnit = m.encodingName === 'GSM-7' ? 7 : 16;
  return { name, text, encoding: m.encodingName, segments: m.segmentsCount, units: m.messageSize / bitsPerUnit };
});
const names = new Set(out.map((c) => c.name));
if (names.size !== out.length) {
  throw new Error('duplicate case names');
}
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
