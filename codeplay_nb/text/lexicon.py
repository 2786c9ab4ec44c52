"""Word lists the prompt generator and the rule layer share.

Each list is plain data: genre words and sub-styles (with a typical tempo where the style implies one),
places that imply a genre, game scenes, instrument words per family, tempo words, emotion words and
situations. Vocabulary is split into a training part and a held-out part by :func:`is_held_out`, so the
validation prompts use words the heads never saw.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# genre -> sub-styles; "word@bin" gives the tempo bin the style implies when no tempo is stated
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "pop": (
        "pop", "pop song", "k-pop", "j-pop", "dance pop", "bubblegum pop", "indie pop", "synth-pop", "top 40",
        "radio hit", "disco@fast", "teen pop", "city pop", "dream pop@slow", "power ballad@slow", "pop ballad@slow",
        "europop@fast", "chart pop", "mainstream pop", "poppy", "boy band", "girl group", "pop-rock", "funk pop",
    ),
    "rock": (
        "rock", "hard rock", "punk@very_fast", "punk rock@very_fast", "metal@fast", "heavy metal@fast", "grunge",
        "indie rock", "alt rock", "alternative rock", "garage rock@fast", "post-rock", "prog rock", "classic rock",
        "shoegaze", "emo", "pop punk@very_fast", "thrash metal@very_fast", "stoner rock@slow", "surf rock@fast",
        "rock and roll@fast", "psychedelic rock", "rock ballad@slow", "arena rock", "power metal@very_fast",
        "rocky", "metalcore@fast", "southern rock",
    ),
    "jazz": (
        "jazz", "bebop@very_fast", "swing@fast", "smooth jazz@slow", "cool jazz", "jazz fusion", "big band@fast",
        "ragtime@fast", "lounge jazz@slow", "jazz ballad@slow", "dixieland@fast", "jazzy", "acid jazz",
        "modal jazz", "jazz standard", "gypsy jazz@fast", "hard bop@fast", "free jazz", "nu jazz", "jazz trio",
        "jazz quartet", "jazz club",
    ),
    "classical": (
        "classical", "symphony", "sonata", "baroque", "chamber music", "string quartet", "concerto",
        "nocturne@slow", "minuet@moderate", "waltz@moderate", "etude", "fugue", "requiem@slow", "opera",
        "prelude", "symphonic", "neoclassical", "impressionist piano", "chopin-style", "bach-like", "mozart-esque",
        "beethoven-style", "classical piano", "orchestral", "orchestral score", "art song", "adagio@slow",
        "scherzo@fast", "overture", "ballet", "serenade@slow", "rondo", "march@moderate", "philharmonic",
    ),
    "folk": (
        "folk", "acoustic folk", "celtic", "irish jig@fast", "sea shanty@moderate", "singer-songwriter",
        "medieval", "bardic", "traditional folk tune", "irish reel@fast", "scottish folk", "nordic folk",
        "campfire song", "fiddle tune@fast", "americana", "folk ballad@slow", "indie folk", "folk dance@fast",
        "renaissance faire", "balkan folk@fast", "klezmer@fast", "polka@fast", "appalachian folk", "folky",
        "minstrel song", "hoedown@fast",
    ),
    "electronic": (
        "electronic", "edm@fast", "techno@fast", "house@fast", "deep house@fast", "trance@fast", "dubstep@fast",
        "drum and bass@very_fast", "dnb@very_fast", "drum n bass@very_fast", "synthwave", "ambient@slow",
        "chillwave@slow", "idm", "electro@fast", "vaporwave@slow", "future bass", "breakbeat@fast",
        "downtempo@slow", "uk garage@fast", "hardstyle@very_fast", "eurobeat@very_fast", "rave@fast",
        "club track@fast", "electronica", "trip-hop@slow", "outrun", "retrowave", "glitch", "big room@fast",
        "progressive house@fast", "minimal techno@fast", "jungle@very_fast", "gabber@very_fast", "darkwave",
        "ambient electronic@slow", "techno-ish@fast",
    ),
    "hiphop": (
        "hip hop", "hiphop", "hip-hop", "rap", "trap", "boom bap", "lofi hip hop@slow", "lo-fi@slow",
        "lofi@slow", "chillhop@slow", "drill", "g-funk", "old school rap", "phonk", "rap beat", "cloud rap@slow",
        "gangsta rap", "underground hip hop", "jazz rap", "conscious rap", "lo-fi beats@slow", "grime@fast",
        "crunk@fast", "type beat", "rnb", "r&b@slow", "neo soul@slow",
    ),
    "game": (
        "video game", "game soundtrack", "chiptune", "8-bit", "16-bit", "retro game", "rpg", "jrpg", "arcade",
        "platformer", "gameboy", "nes-style", "snes", "pixel art game", "vgm", "game music", "bit music",
        "roguelike", "metroidvania", "visual novel", "dungeon crawler", "indie game", "mobile game",
        "console game", "game ost", "game bgm", "fighting game@fast", "shmup@very_fast", "zelda-like",
        "final fantasy style", "pokemon-style", "mmorpg", "open world game",
    ),
    "blues": (
        "blues", "delta blues", "chicago blues", "twelve-bar blues", "12 bar blues", "blues rock", "bluesy",
        "boogie-woogie@fast", "slow blues@slow", "electric blues", "texas blues", "jump blues@fast",
        "blues shuffle@moderate", "soul blues", "blues ballad@slow", "juke joint blues", "shuffle@moderate",
    ),
    "latin": (
        "latin", "salsa@fast", "bossa nova@moderate", "samba@fast", "tango@moderate", "reggaeton@moderate",
        "cumbia@moderate", "mambo@fast", "cha cha@moderate", "merengue@fast", "bachata@moderate",
        "flamenco@fast", "latin jazz", "rumba", "bolero@slow", "mariachi", "latin pop", "son cubano",
        "afro-cuban", "tropical", "dembow@moderate", "latin dance@fast", "bossa@moderate", "forro@fast",
    ),
    "country": (
        "country", "bluegrass@fast", "honky tonk", "country western", "western", "outlaw country",
        "country pop", "nashville", "cowboy song", "line dance@fast", "country ballad@slow", "alt-country",
        "country rock", "americana country", "western swing@fast", "yeehaw", "country folk", "texas country",
    ),
}

# sub-styles whose usual mood implies an emotion when the prompt states none
GENRE_MOODS: dict[str, str] = {
    "bossa nova": "calm", "bossa": "calm", "smooth jazz": "calm", "lounge jazz": "calm", "ambient": "calm",
    "ambient electronic": "calm", "lofi": "calm", "lo-fi": "calm", "lofi hip hop": "calm", "chillhop": "calm",
    "lo-fi beats": "calm", "chillwave": "calm", "downtempo": "calm", "dream pop": "calm", "vaporwave": "calm",
    "cool jazz": "calm", "cloud rap": "calm", "new age": "calm",
    "dubstep": "tense", "metal": "tense", "heavy metal": "tense", "thrash metal": "tense", "metalcore": "tense",
    "drill": "tense", "trap": "tense", "gangsta rap": "tense", "phonk": "tense", "hardstyle": "tense",
    "gabber": "tense", "grime": "tense", "minimal techno": "tense", "hard rock": "tense", "crunk": "tense",
    "salsa": "happy", "samba": "happy", "cumbia": "happy", "merengue": "happy", "reggaeton": "happy",
    "mambo": "happy", "forro": "happy", "latin dance": "happy", "irish jig": "happy", "irish reel": "happy",
    "sea shanty": "happy", "klezmer": "happy", "hoedown": "happy", "bluegrass": "happy", "line dance": "happy",
    "disco": "happy", "dance pop": "happy", "bubblegum pop": "happy", "k-pop": "happy", "edm": "happy",
    "eurobeat": "happy", "big room": "happy", "swing": "happy", "dixieland": "happy", "surf rock": "happy",
    "rock and roll": "happy", "boogie-woogie": "happy", "jump blues": "happy", "western swing": "happy",
    "folk dance": "happy", "europop": "happy", "pop punk": "happy", "funk pop": "happy", "house": "happy",
    "tango": "romantic", "bolero": "romantic", "bachata": "romantic", "r&b": "romantic", "neo soul": "romantic",
    "serenade": "romantic", "waltz": "romantic", "power ballad": "romantic", "jazz ballad": "romantic",
    "requiem": "sad", "slow blues": "sad", "delta blues": "sad", "country ballad": "sad", "blues ballad": "sad",
    "emo": "sad", "grunge": "sad", "folk ballad": "sad",
    "power metal": "epic", "arena rock": "epic", "symphony": "epic", "orchestral score": "epic", "overture": "epic",
    "post-rock": "epic", "trance": "epic", "symphonic": "epic",
    "darkwave": "mysterious", "trip-hop": "mysterious", "synthwave": "mysterious", "outrun": "mysterious",
    "shoegaze": "mysterious", "free jazz": "mysterious", "impressionist piano": "mysterious",
    "ragtime": "playful", "scherzo": "playful", "polka": "playful", "chiptune": "playful", "8-bit": "playful",
    "bebop": "playful", "gypsy jazz": "playful",
}

# places and situations that clearly imply a genre without naming it
GENRE_PLACES: dict[str, tuple[str, ...]] = {
    "folk": (
        "a medieval tavern", "a village harvest festival", "an irish pub", "a hobbit village", "a pirate ship deck",
        "a bard singing at the inn", "a viking longhouse feast", "a maypole dance", "a highland gathering",
        "a ren faire", "a fishing village", "a barn dance",
    ),
    "electronic": (
        "a warehouse party", "a nightclub dance floor", "a cyberpunk city", "a neon-lit arcade hall",
        "a laser light show", "a berlin club at 4am", "a futuristic hover-car ride", "a sci-fi space station",
        "an underground rave", "a robot factory",
    ),
    "jazz": (
        "a smoky speakeasy", "a 1920s cocktail bar", "a new orleans street parade", "a hotel lounge piano bar",
        "a film noir detective office", "a late night supper club", "a harlem ballroom",
    ),
    "classical": (
        "a royal palace ballroom", "a grand concert hall", "a victorian tea party", "an opera house",
        "a chamber recital", "a cathedral in vienna", "an 18th century court",
    ),
    "country": (
        "a dusty saloon", "a rodeo", "a ranch at sunset", "a pickup truck on a dirt road", "a honky-tonk bar",
        "a cowboy campfire", "a texas barbecue", "a small town county fair",
    ),
    "latin": (
        "a beach bar in havana", "a carnival in rio", "a dance hall in buenos aires", "a mexican fiesta",
        "a street party in puerto rico", "a cafe in madrid at night",
    ),
    "rock": (
        "a mosh pit", "a garage band rehearsal", "a biker bar", "a sold-out stadium tour", "a headbanging concert",
    ),
    "hiphop": (
        "a street cypher", "a block party in the bronx", "a late night city drive with the windows down",
        "a breakdance battle", "a rap battle",
    ),
    "game": (),
}

# game scenes: (scene, emotion, tempo bin or "")
GAME_SCENES: tuple[tuple[str, str, str], ...] = (
    ("the boss fight", "epic", "fast"), ("the final boss", "epic", "fast"), ("the title screen", "happy", "moderate"),
    ("the overworld map", "happy", "moderate"), ("a dungeon level", "mysterious", "slow"),
    ("the item shop", "playful", "moderate"), ("the level select screen", "happy", "moderate"),
    ("an underwater level", "calm", "slow"), ("a space shooter stage", "tense", "very_fast"),
    ("the victory screen", "happy", "fast"), ("the game over screen", "sad", "slow"),
    ("character select", "happy", "fast"), ("a stealth level", "tense", "moderate"),
    ("the starting village", "calm", "moderate"), ("the end credits", "sad", "slow"),
    ("a racing level", "tense", "very_fast"), ("a castle level", "tense", "fast"), ("a lava world", "epic", "fast"),
    ("the ice cave level", "mysterious", "slow"), ("a mini game", "playful", "fast"),
    ("the inn where the party rests", "calm", "slow"), ("a haunted level", "mysterious", "slow"),
    ("a timed escape sequence", "tense", "very_fast"), ("the save room", "calm", "slow"),
    ("a bonus stage", "playful", "fast"), ("the tutorial level", "happy", "moderate"),
    ("a desert level", "mysterious", "moderate"), ("the pause menu", "calm", "slow"),
    ("a sky island stage", "happy", "fast"), ("the last dungeon", "tense", "fast"),
    ("a cutscene where the mentor dies", "sad", "slow"), ("a sky battle against a dragon", "epic", "very_fast"),
    ("the credits after beating the game", "epic", "moderate"), ("a spooky forest stage", "mysterious", "slow"),
    ("a puzzle level", "playful", "moderate"), ("the wedding cutscene", "romantic", "slow"),
    ("a romance scene in a dating sim", "romantic", "slow"), ("a jungle level", "happy", "fast"),
)
GAME_CONTEXTS: tuple[str, ...] = (
    "in my rpg", "for my platformer", "of a retro video game", "in an indie game", "for a 16-bit adventure",
    "of my mobile game", "in a jrpg", "for a metroidvania", "in a pixel art game", "for a roguelike",
    "in an 8-bit game", "of an arcade game", "for a fantasy rpg", "in a snes-style game", "for my game jam entry",
)

# family -> words people use for it (plus codeplay_nb.instruments.ALIASES)
INSTRUMENT_WORDS: dict[str, tuple[str, ...]] = {
    "piano": (
        "piano", "keys", "grand piano", "upright piano", "rhodes", "wurlitzer", "electric piano", "e-piano",
        "keyboard", "harpsichord", "music box", "celesta", "glockenspiel", "vibraphone", "vibes", "marimba",
        "xylophone", "toy piano", "honky-tonk piano", "clavinet", "ivories", "tubular bells", "bells",
        "felt piano", "pianos", "keyboards", "kalimba",
    ),
    "organ": (
        "organ", "hammond", "hammond organ", "b3", "church organ", "pipe organ", "accordion", "harmonica",
        "harmonium", "reed organ", "organs", "blues harp", "squeezebox", "concertina",
    ),
    "guitar": (
        "guitar", "acoustic guitar", "electric guitar", "nylon guitar", "classical guitar", "steel guitar",
        "slide guitar", "twelve-string guitar", "ukulele", "uke", "banjo", "mandolin", "sitar", "shamisen",
        "koto", "guitars", "axe", "power chords", "guitar riffs", "lute", "bouzouki", "fingerpicked guitar",
        "strummed guitar", "jangly guitars", "distorted guitar", "shredding guitar", "riffs", "riff", "e-guitar",
        "twangy guitar", "pedal steel",
    ),
    "bass": (
        "bass", "bass guitar", "bassline", "double bass", "upright bass", "slap bass", "fretless bass", "808",
        "808s", "sub bass", "synth bass", "walking bass", "wobble bass", "low end", "basses", "bass line",
        "electric bass", "reese bass", "deep bass",
    ),
    "strings": (
        "strings", "violin", "viola", "cello", "fiddle", "string section", "harp", "pizzicato", "violins",
        "cellos", "orchestral strings", "string ensemble", "string orchestra", "violas", "lush strings",
        "string quartet", "fiddles", "erhu",
    ),
    "choir": (
        "choir", "voices", "vocals", "singing", "chant", "chanting", "chorus", "humming", "aahs", "gospel choir",
        "monks chanting", "voice", "singers", "a cappella", "soprano", "vocal harmonies", "ooh vocals",
        "choral voices", "choirs",
    ),
    "brass": (
        "brass", "trumpet", "trombone", "tuba", "french horn", "horns", "horn section", "cornet", "bugle",
        "flugelhorn", "sousaphone", "trumpets", "trombones", "brass section", "brass band", "horn", "euphonium",
    ),
    "woodwinds": (
        "flute", "clarinet", "oboe", "bassoon", "saxophone", "sax", "piccolo", "recorder", "pan flute",
        "tin whistle", "whistle", "ocarina", "shakuhachi", "bagpipes", "english horn", "woodwinds", "pan pipes",
        "flutes", "clarinets", "saxes", "alto sax", "tenor sax", "woodwind", "fife", "bansuri", "duduk",
    ),
    "synth": (
        "synth", "synthesizer", "pads", "arpeggiator", "arps", "analog synth", "moog", "square wave",
        "lead synth", "sawtooth lead", "supersaw", "modular synth", "synths", "synth pads", "chip sounds",
        "8-bit bleeps", "synthesizers", "warm pads", "pad", "synth lead", "keytar", "theremin", "arpeggios",
    ),
    "drums": (
        "drums", "drum kit", "percussion", "snare", "kick drum", "hi-hats", "cymbals", "toms", "bongos",
        "congas", "timpani", "taiko", "taiko drums", "tambourine", "drum machine", "909", "brushed drums", "brushes",
        "cajon", "shaker", "drum", "beat", "beats", "breakbeats", "snare drum", "hand drums", "djembe",
        "drumming", "war drums", "claps",
    ),
}
# phrases that contain instrument words but name a genre
NOT_INSTRUMENTS: tuple[str, ...] = (
    "drum and bass", "drum n bass", "drum & bass", "drum'n'bass", "bass music", "pop punk", "rap beat",
    "type beat", "lo-fi beats", "string quartet style", "boom bap", "keys of", "in the key", "guitar hero",
    "heartbeat", "beat the", "beat em up", "beat 'em up", "upbeat",
)

# tempo words per bin; negations are handled by the rule layer
TEMPO_WORDS: dict[str, tuple[str, ...]] = {
    "slow": (
        "slow", "slowly", "very slow", "slow-paced", "unhurried", "leisurely", "languid", "sluggish",
        "laid-back tempo", "crawling", "adagio tempo", "largo", "lento", "half-time", "relaxed pace",
        "sleepy tempo", "glacial", "slow tempo", "slower", "slow and steady", "lazy tempo", "dragging",
        "really slow", "super slow", "gentle pace", "slow burning",
    ),
    "moderate": (
        "moderate", "medium tempo", "mid-tempo", "midtempo", "moderately paced", "walking pace", "andante",
        "moderato", "steady tempo", "medium", "medium pace", "medium speed", "moderate tempo", "easy groove",
        "middle tempo", "normal speed", "comfortable pace", "steady groove", "medium-paced",
    ),
    "fast": (
        "fast", "quick", "upbeat", "uptempo", "up-tempo", "brisk", "lively", "energetic", "driving", "allegro",
        "speedy", "rapid", "pacey", "fast-paced", "peppy", "quick tempo", "fast tempo", "faster", "punchy",
        "high energy", "danceable", "bouncing tempo", "zippy", "swift",
    ),
    "very_fast": (
        "very fast", "super fast", "blazing", "frantic", "breakneck", "hyper", "insanely fast", "presto",
        "prestissimo", "lightning fast", "at full speed", "furious tempo", "extremely fast", "really fast",
        "hyperspeed", "rapid-fire", "relentless speed", "blistering", "as fast as possible", "ultra fast",
        "neck-breaking", "very quick",
    ),
}
# "not too fast" style phrases: (phrase, bin)
TEMPO_NEGATIONS: tuple[tuple[str, str], ...] = (
    ("not too fast", "moderate"), ("not too slow", "moderate"), ("not so fast", "moderate"),
    ("not very fast", "moderate"), ("not super fast", "moderate"), ("not rushed", "moderate"),
    ("nothing too fast", "moderate"), ("nothing too slow", "moderate"), ("neither fast nor slow", "moderate"),
    ("not slow", "fast"), ("not sluggish", "fast"), ("not fast", "slow"), ("nothing fast", "slow"),
    ("not hurried", "slow"), ("no rush", "slow"), ("not frantic", "moderate"),
)

# basic words of the label vocabulary in other languages (codeplay_nb/data/foreign_words.json), for the rule
# layer only; Korean has its own fuller table (codeplay_nb/data/words_ko.tsv, read by styles.py)
FOREIGN_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    head: {label: tuple(words) for label, words in table.items()}
    for head, table in json.loads((DATA_DIR / "foreign_words.json").read_text(encoding="utf-8")).items()
}

# emotion -> adjectives / mood words
EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "happy": (
        "happy", "joyful", "cheerful", "bright", "sunny", "uplifting", "feel-good", "jolly", "merry", "gleeful",
        "carefree", "optimistic", "celebratory", "festive", "delighted", "elated", "euphoric", "ecstatic",
        "excited", "buoyant", "radiant", "hopeful", "glad", "thrilled", "positive", "joyous", "good vibes",
        "feel good", "overjoyed", "sunshine", "blissful", "summery", "lighthearted and happy", "smiley",
        "exuberant", "jubilant", "chipper", "exciting", "fun and happy", "upbeat and happy", "funky",
        "upbeat", "cheery",
    ),
    "sad": (
        "sad", "melancholic", "melancholy", "sorrowful", "mournful", "heartbroken", "gloomy", "depressed",
        "lonely", "grieving", "tearful", "wistful", "bittersweet", "nostalgic", "somber", "blue", "downcast",
        "forlorn", "despairing", "regretful", "heavy-hearted", "miserable", "dejected", "tragic", "longing",
        "homesick", "sorrow", "heartache", "crying", "grief", "desolate", "broken", "hopeless", "sadness",
        "teary", "down", "moody", "lamenting", "elegiac", "devastated",
    ),
    "calm": (
        "calm", "peaceful", "serene", "relaxing", "relaxed", "tranquil", "soothing", "chill", "mellow", "gentle",
        "quiet", "soft", "meditative", "restful", "zen", "easygoing", "placid", "cozy", "laid-back", "sleepy",
        "contemplative", "reflective", "still", "unwinding", "chilled", "ambient", "dreamy", "floaty", "comfy",
        "healing", "lazy", "hushed", "low-key", "at ease", "chill out", "pensive", "breezy", "comforting",
    ),
    "tense": (
        "tense", "anxious", "suspenseful", "nervous", "scary", "frightening", "menacing", "aggressive", "angry",
        "furious", "threatening", "urgent", "panicked", "intense", "stressful", "chaotic", "sinister",
        "dread", "uneasy", "edgy", "paranoid", "hostile", "terrifying", "horror", "fearful", "rage", "violent",
        "unsettling", "gritty", "brutal", "nerve-wracking", "thrilling", "dangerous", "claustrophobic", "fierce",
        "ominous", "creepy and dangerous", "high stakes", "mad", "adrenaline",
    ),
    "epic": (
        "epic", "heroic", "triumphant", "majestic", "grand", "glorious", "powerful", "cinematic", "victorious",
        "mighty", "bold", "legendary", "monumental", "soaring", "anthemic", "awe-inspiring", "larger than life",
        "valiant", "inspiring", "colossal", "huge", "massive", "dramatic", "regal", "noble", "courageous",
        "blockbuster", "big and bombastic", "stirring", "rousing", "intense and heroic", "titanic",
    ),
    "romantic": (
        "romantic", "loving", "tender", "passionate", "sensual", "intimate", "sweet", "affectionate", "yearning",
        "lovesick", "heartfelt", "warm", "amorous", "adoring", "flirty", "in love", "lovey-dovey", "sentimental",
        "love", "seductive", "smitten", "devoted", "dreamy and romantic", "sexy", "sultry", "swoony", "lovely",
        "cuddly", "heart-warming", "soulful",
    ),
    "mysterious": (
        "mysterious", "eerie", "enigmatic", "mystical", "spooky", "haunting", "magical", "otherworldly",
        "ethereal", "strange", "weird", "curious", "cryptic", "atmospheric", "surreal", "uncanny", "foggy",
        "ghostly", "arcane", "secretive", "puzzling", "dark", "mystic", "creepy", "shadowy", "alien", "occult",
        "hypnotic", "cosmic", "unknown", "murky", "enchanted", "spectral", "bizarre", "misty", "suspicious",
        "supernatural", "cryptic and dark", "otherworldly and strange", "lurking",
    ),
    "playful": (
        "playful", "silly", "goofy", "whimsical", "quirky", "bouncy", "mischievous", "cheeky", "funny", "cute",
        "lighthearted", "jaunty", "zany", "comical", "fun", "bubbly", "teasing", "cartoonish", "giggly",
        "frisky", "sneaky", "wacky", "kooky", "childlike", "humorous", "bouncy and silly", "naughty", "spunky",
        "springy", "tongue-in-cheek", "clownish", "sprightly", "toy-like", "nutty", "dorky", "derpy",
        "tiptoe", "perky", "light and fun",
    ),
}

# emotion -> situations/scenes; "scene@bin" gives the tempo the scene implies
EMOTION_SCENES: dict[str, tuple[str, ...]] = {
    "happy": (
        "a birthday party@fast", "summer vacation", "a sunny day at the park", "graduation day@fast",
        "a road trip with friends@fast", "dancing in the kitchen@fast", "a picnic", "winning the lottery@fast",
        "the first day of spring", "a beach party@fast", "friday night@fast", "a reunion with old friends",
        "a festival@fast", "getting good news", "a wedding reception party@fast", "the weekend finally arriving",
        "a morning jog@fast", "a new puppy", "a family barbecue", "a sunny morning", "kids running in a field",
        "riding a bike downhill@fast", "the last day of school@fast", "a pool party@fast", "christmas morning",
        "a surprise party@fast", "getting my dream job", "a carnival ride@fast", "a hot air balloon festival",
        "a street parade@fast", "a bright new day", "dancing at a party@fast", "the sun coming out after rain",
        "cleaning the house on a good day@fast", "a trip to the amusement park@fast", "a flash mob@fast",
    ),
    "sad": (
        "a funeral@slow", "saying goodbye@slow", "losing a pet@slow", "a breakup@slow", "an empty house@slow",
        "rain on the window@slow", "missing someone@slow", "a hospital waiting room@slow",
        "the last day of summer@slow", "an old photo album@slow", "a lonely night@slow", "a farewell@slow",
        "memories of a lost friend@slow", "moving away from home@slow", "autumn leaves falling@slow",
        "an abandoned town@slow", "a rejection letter@slow", "a grey winter afternoon@slow",
        "an unanswered phone call@slow", "visiting a grave@slow", "a soldier's letter home@slow",
        "the end of a friendship@slow", "walking home alone in the rain@slow", "a divorce@slow",
        "my dog passing away@slow", "an empty swing in the playground@slow", "a long goodbye@slow",
        "failing an exam@slow", "being left alone@slow", "a broken heart@slow", "the day everything ended@slow",
        "an old man remembering his wife@slow", "a rainy funeral@slow", "when nobody calls back@slow",
    ),
    "calm": (
        "studying@slow", "falling asleep@slow", "yoga@slow", "meditation@slow", "a quiet library@slow",
        "a lake at dawn@slow", "reading a book@slow", "a spa day@slow", "a lazy sunday@slow",
        "drinking tea@slow", "a slow walk in the park@slow", "lying in the grass@slow", "snow falling@slow",
        "sitting by the fireplace@slow", "a zen garden@slow", "focusing at work@slow", "a massage@slow",
        "waking up slowly@slow", "gentle waves on the shore@slow", "a baby's bedtime@slow",
        "a cabin in the woods@slow", "watching clouds drift by@slow", "a sunday brunch@moderate",
        "working from a cafe@moderate", "a hot bath@slow", "painting watercolors@slow", "gardening@slow",
        "an evening on the porch@slow", "a train ride through the countryside@moderate", "doing homework@slow",
        "a rainy afternoon indoors@slow", "floating on a lake@slow", "a sleepy village@slow",
        "coding late at night@slow", "winding down after a long day@slow", "a candle-lit bath@slow",
    ),
    "tense": (
        "a chase@very_fast", "a bomb about to explode@fast", "a horror movie", "running from a monster@very_fast",
        "a heist@fast", "a countdown@fast", "a car chase@very_fast", "an ambush@fast", "being hunted@fast",
        "a hostage standoff", "a storm at sea@fast", "the last seconds of a match@fast",
        "sneaking into the enemy base@moderate", "a thriller", "a zombie attack@fast", "escaping a prison@fast",
        "a street fight@fast", "a bank robbery@fast", "defusing a bomb", "a killer in the house",
        "a police interrogation", "a cyber attack@fast", "a shootout@fast", "a spy getting caught@fast",
        "a panic attack@fast", "a stalker outside the window", "a tornado approaching@fast",
        "an alien invasion@fast", "a knife fight@fast", "the trenches under fire@fast", "road rage@fast",
        "hiding from an intruder", "a boxing match@fast", "a chase through the subway@very_fast",
    ),
    "epic": (
        "a final battle@fast", "a king's coronation@moderate", "dragons flying over mountains@fast",
        "an army marching to war@moderate", "the hero's last stand@fast", "a space fleet launching@fast",
        "reaching a mountain summit", "a movie trailer@fast", "an olympic opening ceremony@moderate",
        "a championship victory@fast", "a fantasy kingdom@moderate", "a rocket launch@fast",
        "knights charging into battle@fast", "a superhero saving the day@fast", "the fall of an empire",
        "gods at war@fast", "a viking raid@fast", "a giant robot battle@fast", "the return of the king@moderate",
        "sailing into a hurricane@fast", "a spaceship jumping to lightspeed@fast", "a war horn over the hills",
        "the hero rising again@fast", "a samurai duel@fast", "an ancient titan awakening",
        "conquering the world@fast", "the launch of an ark@moderate", "a siege of a castle@fast",
        "an emperor's triumph@moderate", "saving the world@fast",
    ),
    "romantic": (
        "a first kiss@slow", "a candlelight dinner@slow", "a wedding@slow", "a date night@slow",
        "slow dancing@slow", "a proposal@slow", "valentine's day@slow", "lovers walking in paris@slow",
        "an anniversary@slow", "a love letter@slow", "holding hands@slow", "a moonlit balcony@slow",
        "a honeymoon@slow", "falling in love@slow", "a rose garden at dusk@slow", "a love scene@slow",
        "a kiss in the rain@slow", "stargazing with my partner@slow", "a gondola ride in venice@slow",
        "our wedding anniversary@slow", "writing a love song@slow", "the one that got away@slow",
        "a summer romance@moderate", "a walk on the beach together@slow", "a serenade under the window@slow",
        "a picnic date@moderate", "meeting my soulmate@slow", "a sunset with my love@slow",
    ),
    "mysterious": (
        "an ancient ruin@slow", "a foggy forest@slow", "a detective investigating@moderate",
        "a haunted house@slow", "an alien planet@slow", "a witch's hut@slow", "deep sea exploration@slow",
        "a secret cave@slow", "an abandoned lab@slow", "a midnight graveyard@slow", "a crystal cave@slow",
        "a dream sequence@slow", "a labyrinth@moderate", "a magic library@slow", "the mysteries of space@slow",
        "a hidden temple@slow", "a locked room@slow", "a seance@slow", "a forgotten attic@slow",
        "a cursed mirror@slow", "an old lighthouse in the fog@slow", "a lost city under the sand@slow",
        "a wizard's tower@slow", "a conspiracy unfolding@moderate", "the desert at night@slow",
        "a portal to another world@slow", "a crime scene at night@moderate", "the moon rising over a swamp@slow",
        "a masquerade ball@moderate", "a ghost ship@slow", "strange lights in the sky@slow",
    ),
    "playful": (
        "a cartoon@fast", "kittens playing@fast", "a circus@fast", "a clown show@fast",
        "a kids playground@fast", "a prank@moderate", "a puppet show@moderate", "a toy shop@moderate",
        "penguins waddling@moderate", "a tickle fight@fast", "a food fight@fast", "blowing bubbles@moderate",
        "a slapstick scene@fast", "a puppy chasing its tail@fast", "a children's tv show@fast",
        "a cat knocking things off the table@moderate", "monkeys swinging in the trees@fast",
        "a sneaky raccoon stealing snacks@moderate", "a bouncy castle@fast", "a game of hide and seek@moderate",
        "a teddy bear picnic@moderate", "silly dance moves@fast", "ducklings in a row@moderate",
        "a magic trick show@moderate", "a mouse sneaking cheese@moderate", "a wind-up toy parade@fast",
        "a funny commercial@fast", "a goofy dog at the park@fast", "a jack in the box@fast",
    ),
}

# the tempo an emotion implies when nothing else does
EMOTION_DEFAULT_TEMPO: dict[str, str] = {
    "happy": "fast", "sad": "slow", "calm": "slow", "tense": "fast", "epic": "fast", "romantic": "slow",
    "mysterious": "slow", "playful": "fast",
}

# the emotions the NRC lexicon's categories feed (extra emotion words, used only when nrclex is installed)
NRC_TO_EMOTION: dict[str, str] = {"joy": "happy", "sadness": "sad", "fear": "tense", "anger": "tense"}


def is_held_out(item: str, fraction: int = 5) -> bool:
    """A stable split: about one item in ``fraction`` is kept for validation only."""
    return zlib.crc32(item.encode("utf-8")) % fraction == 0


def split_hint(item: str) -> tuple[str, str | None]:
    """``"word@fast"`` -> ``("word", "fast")``; ``"word"`` -> ``("word", None)``."""
    if "@" in item:
        word, hint = item.rsplit("@", 1)
        return word, hint
    return item, None


def nrc_emotion_words() -> dict[str, tuple[str, ...]]:
    """Extra emotion words from the NRC lexicon (``nrclex`` package, offline); empty if it is missing.

    Only unambiguous words are kept: a word joins an emotion when the lexicon tags it with exactly one
    of the mapped categories and not with the opposite polarity.
    """
    try:
        from nrclex.core import _load_bundled_lexicon
    except ImportError:
        return {}
    lexicon = _load_bundled_lexicon()
    out: dict[str, list[str]] = {e: [] for e in set(NRC_TO_EMOTION.values())}
    for word in sorted(lexicon):
        tags = set(lexicon[word])
        mapped = {NRC_TO_EMOTION[t] for t in tags if t in NRC_TO_EMOTION}
        if len(mapped) != 1 or not word.isalpha() or len(word) < 4:
            continue
        emotion = mapped.pop()
        if (emotion == "happy" and "negative" in tags) or (emotion != "happy" and "positive" in tags):
            continue
        out[emotion].append(word)
    return {e: tuple(ws) for e, ws in out.items()}
